import type { FinishReason, SamplingParams, TokenLogprobs } from '@vllm-ts/core';
import type { EngineRequestOutput, ServerEngine } from './engine-types.js';
import type { TokenizedPrompt } from './prompt-input.js';

/** New output of one choice (choices are numbered across prompts: `promptIndex * n + index`). */
export interface ChoiceDelta {
  readonly kind: 'choice';
  readonly index: number;
  readonly promptIndex: number;
  readonly text: string;
  readonly tokenIds: readonly number[];
  readonly logprobs: readonly TokenLogprobs[] | null;
  readonly finishReason: FinishReason | null;
  readonly stopReason: number | string | null;
}

/** What the engine reported about one prompt, sent once, before its first choice delta. */
export interface PromptInfo {
  readonly kind: 'prompt';
  readonly promptIndex: number;
  readonly promptTokenIds: readonly number[];
  readonly promptLogprobs: readonly (TokenLogprobs | null)[] | null;
  readonly numCachedTokens: number;
}

/** One event of {@link streamChoices}. */
export type ChoiceEvent = PromptInfo | ChoiceDelta;

/** Options of {@link streamChoices}. */
export interface StreamChoicesOptions {
  /** Aborting it aborts every prompt's engine request. */
  readonly signal: AbortSignal;
  readonly priority?: number;
}

/**
 * Runs every prompt of a request through the engine at once and yields their deltas as they
 * come, interleaved. Prompt `i` runs as engine request `${requestId}-${i}` (or `requestId` alone
 * when there is one prompt).
 *
 * @param engine the engine
 * @param prompts tokenized prompts
 * @param params sampling settings (shared by all prompts)
 * @param requestId the response id
 * @param options abort signal and priority
 * @returns the events; an engine error is rethrown after the other prompts are aborted
 */
export async function* streamChoices(
  engine: ServerEngine,
  prompts: readonly TokenizedPrompt[],
  params: SamplingParams,
  requestId: string,
  options: StreamChoicesOptions,
): AsyncGenerator<ChoiceEvent> {
  const n = params.n;
  const ids = prompts.map((_, i) => (prompts.length === 1 ? requestId : `${requestId}-${i}`));
  const iterators = prompts.map((p, i) =>
    engine.generate({ promptTokenIds: p.tokenIds }, params, ids[i]!, {
      outputKind: 'delta',
      signal: options.signal,
      ...(options.priority === undefined ? {} : { priority: options.priority }),
    }),
  );
  const announced = new Set<number>();
  type Step = { i: number; r: IteratorResult<EngineRequestOutput> } | { i: number; error: unknown };
  const pending = new Map<number, Promise<Step>>();
  const pull = (i: number) =>
    pending.set(
      i,
      iterators[i]!.next().then(
        (r) => ({ i, r }),
        (error: unknown) => ({ i, error }),
      ),
    );
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const step = await Promise.race(pending.values());
      const { i } = step;
      if ('error' in step) {
        // This request is over; the finally block ends the others (and must not abort this id,
        // which may belong to another live request, e.g. on a duplicate id).
        pending.delete(i);
        throw step.error;
      }
      const { r } = step;
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pull(i);
      const out = r.value;
      if (!announced.has(i)) {
        announced.add(i);
        yield {
          kind: 'prompt',
          promptIndex: i,
          promptTokenIds: out.promptTokenIds,
          promptLogprobs: out.promptLogprobs,
          numCachedTokens: out.numCachedTokens,
        };
      }
      for (const o of out.outputs) {
        if (o.text === '' && o.tokenIds.length === 0 && o.finishReason === null) continue;
        yield {
          kind: 'choice',
          index: i * n + o.index,
          promptIndex: i,
          text: o.text,
          tokenIds: o.tokenIds,
          logprobs: o.logprobs,
          finishReason: o.finishReason,
          stopReason: o.stopReason,
        };
      }
    }
  } finally {
    // Early exit (client gone, error in another prompt): end every engine request still running.
    const running = [...pending.keys()];
    if (running.length > 0) {
      await engine.abort(running.map((i) => ids[i]!)).catch(() => undefined);
      await Promise.allSettled(running.map((i) => iterators[i]!.return(undefined)));
    }
  }
}
