import { CudaEvent, type CudaStream } from '@vllm-ts/cuda';

/** A step's kind, for {@link CudaStepTimer}'s summary. */
export type CudaStepKind = 'decode-graph' | 'decode-eager' | 'mixed';

interface KindStats {
  steps: number;
  tokens: number;
  gpuMs: number[];
  prepMs: number[];
  runnerMs: number[];
  outsideMs: number[];
}

/**
 * Per-step timing of the CUDA runner, on when `VLLM_TS_CUDA_STEP_TIMING=1`: the device time of the
 * forward pass and sampling (CUDA events), the host time spent before the first launch, the whole
 * `execute()` call, and the time between calls (scheduler, engine core, output messages). Prints a
 * summary per step kind when the runner closes. Off: every method returns at once.
 */
export class CudaStepTimer {
  readonly enabled: boolean;
  readonly #stats = new Map<CudaStepKind, KindStats>();
  readonly #start: CudaEvent | null;
  readonly #end: CudaEvent | null;
  #callStart = 0;
  #launched = 0;
  #lastEnd = 0;

  /** @param env the process environment */
  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.enabled = env.VLLM_TS_CUDA_STEP_TIMING === '1';
    this.#start = this.enabled ? CudaEvent.create({ timing: true }) : null;
    this.#end = this.enabled ? CudaEvent.create({ timing: true }) : null;
  }

  /** At the top of `execute()`. */
  beginCall(): void {
    if (this.enabled) this.#callStart = performance.now();
  }

  /** Just before the step's first launch. @param stream the runner's stream */
  beforeLaunch(stream: CudaStream): void {
    if (!this.#start) return;
    this.#launched = performance.now();
    this.#start.record(stream);
  }

  /** After the step's last launch. @param stream the runner's stream */
  afterLaunch(stream: CudaStream): void {
    this.#end?.record(stream);
  }

  /**
   * At the end of `execute()`, after the stream was synchronized.
   * @param kind the step's kind
   * @param numTokens tokens the step computed
   */
  endCall(kind: CudaStepKind, numTokens: number): void {
    if (!this.#start || !this.#end) return;
    const now = performance.now();
    let s = this.#stats.get(kind);
    if (!s) this.#stats.set(kind, (s = { steps: 0, tokens: 0, gpuMs: [], prepMs: [], runnerMs: [], outsideMs: [] }));
    s.steps++;
    s.tokens += numTokens;
    s.gpuMs.push(this.#end.elapsedMs(this.#start));
    s.prepMs.push(this.#launched - this.#callStart);
    s.runnerMs.push(now - this.#callStart);
    if (this.#lastEnd > 0) s.outsideMs.push(this.#callStart - this.#lastEnd);
    this.#lastEnd = now;
  }

  /** @returns the summary table, or null when off or nothing ran */
  summary(): string | null {
    if (!this.enabled || this.#stats.size === 0) return null;
    const median = (a: number[]) => (a.length === 0 ? 0 : [...a].sort((x, y) => x - y)[a.length >> 1]!);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const lines = ['[cuda runner] kind          steps  tokens/step  gpu ms (med/total)   prep ms med  execute ms med  outside ms med (total)'];
    for (const [kind, s] of this.#stats) {
      lines.push(
        `[cuda runner] ${kind.padEnd(13)} ${String(s.steps).padStart(5)}  ${(s.tokens / s.steps).toFixed(1).padStart(11)}  ` +
          `${median(s.gpuMs).toFixed(3).padStart(8)} / ${(sum(s.gpuMs) / 1000).toFixed(2).padStart(6)} s  ${median(s.prepMs).toFixed(3).padStart(11)}  ` +
          `${median(s.runnerMs).toFixed(3).padStart(14)}  ${median(s.outsideMs).toFixed(3).padStart(8)} (${(sum(s.outsideMs) / 1000).toFixed(2)} s)`,
      );
    }
    return lines.join('\n');
  }

  /** Frees the events. */
  destroy(): void {
    this.#start?.destroy();
    this.#end?.destroy();
  }
}
