import type { FinishReason } from './finish-reason.js';
import type { RequestId } from './ids.js';
import type { PromptLogprobsChunk, TokenLogprobs } from './model-runner-output.js';

/** A timestamped lifecycle event, for queue/prefill/decode time metrics. */
export interface RequestEvent {
  readonly type: 'queued' | 'scheduled' | 'preempted';
  /** Seconds on the scheduler's clock. */
  readonly timestamp: number;
}

/**
 * What the scheduler reports for one request after a step: emitted only when the request got new
 * tokens, finished, or has events to report (a partial prefill emits nothing).
 */
export interface EngineCoreOutput {
  /** Id as the runner saw it (a child id for V0 parallel sampling). */
  readonly reqId: RequestId;
  /** Tokens appended this step, after stop truncation. */
  readonly newTokenIds: readonly number[];
  /** Set when the request finished in this step. */
  readonly finishReason: FinishReason | null;
  /** The stop token id that ended it (null for EOS, length, or not finished). */
  readonly stopReason: number | string | null;
  /** Logprobs of `newTokenIds`, when asked for. */
  readonly newLogprobs: readonly TokenLogprobs[] | null;
  /** Prompt logprobs computed this step, when asked for. */
  readonly newPromptLogprobs: PromptLogprobsChunk | null;
  /** Prompt tokens served from the prefix cache when the request was (last) admitted. */
  readonly numCachedTokens: number;
  /** Lifecycle events since the last output for this request. */
  readonly events: readonly RequestEvent[];
}
