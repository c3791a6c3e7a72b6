import type { FinishReason, SchedulerStats, SpecDecodingStats, TokenLogprobs } from '@vllm-ts/core';

/**
 * How much each output carries: `delta` only what is new since the last output (streaming),
 * `cumulative` everything so far, `final` a single output once the request finished.
 */
export type OutputKind = 'delta' | 'cumulative' | 'final';

/** A prompt as callers pass it: text, text in an object, or token ids. */
export type PromptInput = string | { readonly prompt: string } | { readonly promptTokenIds: readonly number[] };

/** One generated sequence of a request (one of `n`). */
export interface CompletionOutput {
  /** Position among the request's `n` sequences, 0..n-1. */
  readonly index: number;
  /** Text so far (the new part only, with `delta` outputs). */
  readonly text: string;
  /** Token ids so far (the new ones only, with `delta` outputs). */
  readonly tokenIds: readonly number[];
  /** Sum of the sampled tokens' logprobs when logprobs were asked for, else null. */
  readonly cumulativeLogprob: number | null;
  /** One entry per token of `tokenIds`, when the request asked for logprobs. */
  readonly logprobs: readonly TokenLogprobs[] | null;
  /** Why the sequence ended; null while it runs. */
  readonly finishReason: FinishReason | null;
  /** The stop token id or stop string that ended it; null otherwise. */
  readonly stopReason: number | string | null;
}

/** What a request has produced so far (or newly, with `delta` outputs). */
export interface RequestOutput {
  readonly requestId: string;
  /** The prompt text, or null when the prompt was given as token ids. */
  readonly prompt: string | null;
  readonly promptTokenIds: readonly number[];
  /** One entry per prompt token (the first is null), when the request asked for prompt logprobs. */
  readonly promptLogprobs: readonly (TokenLogprobs | null)[] | null;
  /** The sequences with news (delta) or all of them, in index order. */
  readonly outputs: readonly CompletionOutput[];
  /** True once every sequence finished. */
  readonly finished: boolean;
  /** Prompt tokens served from the prefix cache. */
  readonly numCachedTokens: number;
}

/** Timings and counts of one finished sequence, per vLLM's definitions (seconds). */
export interface FinishedRequestStats {
  readonly finishReason: FinishReason;
  /** Finish minus arrival. */
  readonly e2eLatency: number;
  /** First scheduled minus queued. */
  readonly queueTime: number;
  /** First token minus first scheduled (preemptions included). */
  readonly prefillTime: number;
  /** Last token minus first token. */
  readonly decodeTime: number;
  /** Last token minus first scheduled. */
  readonly inferenceTime: number;
  readonly numPromptTokens: number;
  readonly numGenerationTokens: number;
  readonly maxTokensParam: number | null;
  readonly n: number;
}

/** Per engine step figures, for metrics (Prometheus names are the server's business). */
export interface IterationStats {
  /** The scheduler's gauges and counters after the step. */
  readonly schedulerStats: SchedulerStats;
  /** Prompt tokens of requests that got their first token this step. */
  readonly numPromptTokens: number;
  /** Tokens generated this step. */
  readonly numGenerationTokens: number;
  /** Seconds from arrival to first token, for requests that got it this step. */
  readonly timeToFirstTokens: readonly number[];
  /** Seconds between successive token batches of running requests. */
  readonly interTokenLatencies: readonly number[];
  readonly finishedRequests: readonly FinishedRequestStats[];
  readonly specDecoding?: SpecDecodingStats;
}
