import type { RequestId } from './ids.js';

/** One token with its log-probability and its rank (1 = most likely) in the distribution it came from. */
export interface Logprob {
  readonly tokenId: number;
  readonly logprob: number;
  readonly rank: number;
}

/** Log-probabilities at one position: the chosen token and the `k` most likely ones. */
export interface TokenLogprobs {
  /** The sampled (or, for prompt logprobs, the actual next prompt) token. */
  readonly chosen: Logprob;
  /** The top-k tokens, most likely first (k = the request's `logprobs` / `promptLogprobs`). */
  readonly top: readonly Logprob[];
}

/** Prompt log-probabilities computed in one step for a contiguous run of prompt positions. */
export interface PromptLogprobsChunk {
  /** Index of the first prompt token covered (>= 1: the first prompt token has no logprob). */
  readonly start: number;
  readonly entries: readonly TokenLogprobs[];
}

/** What the model runner returns for one {@link SchedulerOutput}. */
export interface ModelRunnerOutput {
  /**
   * Sampled tokens per scheduled request: one token normally, 1..k+1 with k drafts (accepted
   * drafts then the bonus or recovered token), none for a prefill chunk that does not reach the
   * end of the known tokens.
   */
  readonly sampledTokenIds: ReadonlyMap<RequestId, readonly number[]>;
  /** Per request, one entry per sampled token, when the request asked for logprobs. */
  readonly logprobs: ReadonlyMap<RequestId, readonly TokenLogprobs[]>;
  /** Per request, the prompt logprobs computed this step, when asked for. */
  readonly promptLogprobs: ReadonlyMap<RequestId, PromptLogprobsChunk>;
}
