import type { CompletionOutput, OutputKind, RequestOutput } from './request-output.js';

/**
 * The hand-off between the output loop and one request's iterator. When the consumer falls behind,
 * `delta` outputs are merged (nothing is lost) and other kinds keep only the newest.
 */
export class OutputCollector {
  private pending: RequestOutput | Error | null = null;
  private waiter: ((o: RequestOutput | Error) => void) | null = null;
  private readonly kind: OutputKind;

  /** @param kind the request's output kind */
  constructor(kind: OutputKind) {
    this.kind = kind;
  }

  /**
   * Delivers an output (or the error that ended the engine).
   * @param output the request's newest output
   */
  put(output: RequestOutput | Error): void {
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w(output);
      return;
    }
    if (output instanceof Error) {
      this.pending ??= output;
      return;
    }
    this.pending =
      this.kind === 'delta' && this.pending !== null && !(this.pending instanceof Error) ? mergeDeltas(this.pending, output) : output;
  }

  /** The next output; waits when none is pending. */
  next(): Promise<RequestOutput | Error> {
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      return Promise.resolve(p);
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

/**
 * Two successive delta outputs of one request as one.
 * @param a the older output
 * @param b the newer output
 */
export function mergeDeltas(a: RequestOutput, b: RequestOutput): RequestOutput {
  const byIndex = new Map<number, CompletionOutput>(a.outputs.map((o) => [o.index, o]));
  for (const o of b.outputs) {
    const prev = byIndex.get(o.index);
    byIndex.set(
      o.index,
      prev === undefined
        ? o
        : {
            ...o,
            text: prev.text + o.text,
            tokenIds: [...prev.tokenIds, ...o.tokenIds],
            logprobs: prev.logprobs === null || o.logprobs === null ? o.logprobs : [...prev.logprobs, ...o.logprobs],
          },
    );
  }
  return { ...b, promptLogprobs: b.promptLogprobs ?? a.promptLogprobs, outputs: [...byIndex.values()].sort((x, y) => x.index - y.index) };
}
