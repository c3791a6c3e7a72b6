import type { EngineCoreOutput, SchedulerStats } from '@vllm-ts/core';

/** What one engine-core step sends to the front end (structured-clone safe). */
export interface EngineCoreOutputs {
  /** Per-request news of the step. */
  readonly outputs: readonly EngineCoreOutput[];
  /** The scheduler's stats after the step. */
  readonly schedulerStats: SchedulerStats;
  /** When the step's outputs were produced, in seconds on `nowSeconds()`'s clock. */
  readonly timestamp: number;
}
