/** Prefix-cache counters, in tokens, cumulative since the manager was created. */
export interface PrefixCacheStats {
  /** Tokens looked up by requests admitted fresh. */
  readonly queries: number;
  /** Of those, tokens found in the cache. */
  readonly hits: number;
  /** Tokens looked up again by previously preempted requests (kept apart so they don't inflate the hit rate). */
  readonly preemptedQueries: number;
  /** Of those, tokens found. */
  readonly preemptedHits: number;
  /** Number of successful `resetPrefixCache()` calls. */
  readonly resets: number;
}

/** Speculative-decoding counters, cumulative. */
export interface SpecDecodingStats {
  /** Requests-steps that verified at least one draft. */
  readonly numDrafts: number;
  readonly numDraftTokens: number;
  readonly numAcceptedTokens: number;
  /** Accepted drafts by position in the draft (index 0 = first draft token). */
  readonly numAcceptedTokensPerPos: readonly number[];
}

/** A scheduler's gauges (current values) and counters (cumulative). */
export interface SchedulerStats {
  readonly numRunningReqs: number;
  readonly numWaitingReqs: number;
  /** V0 only (0 under V1). */
  readonly numSwappedReqs: number;
  /** Fraction of KV blocks held by live requests, in [0, 1]. */
  readonly kvCacheUsage: number;
  readonly prefixCache: PrefixCacheStats;
  /** Preemptions since creation. */
  readonly numPreemptions: number;
  readonly specDecoding: SpecDecodingStats;
}

/**
 * Stats of a scheduler with no requests and no history: every gauge and counter at zero.
 * A fresh object each call (callers may spread and override fields).
 */
export function makeEmptySchedulerStats(): SchedulerStats {
  return {
    numRunningReqs: 0,
    numWaitingReqs: 0,
    numSwappedReqs: 0,
    kvCacheUsage: 0,
    prefixCache: { queries: 0, hits: 0, preemptedQueries: 0, preemptedHits: 0, resets: 0 },
    numPreemptions: 0,
    specDecoding: { numDrafts: 0, numDraftTokens: 0, numAcceptedTokens: 0, numAcceptedTokensPerPos: [] },
  };
}
