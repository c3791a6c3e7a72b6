import type { EngineCoreOutputBatch, SchedulerStats } from '@vllm-ts/core';

/**
 * What one engine-core step gives the front end. Across the worker boundary it travels as
 * columns (`EngineCoreOutputBatch.toColumns()`) and is wrapped again on arrival.
 */
export interface EngineCoreOutputs {
  /** Per-request news of the step, one row per request, as columns. */
  readonly outputs: EngineCoreOutputBatch;
  /** The scheduler's stats after the step. */
  readonly schedulerStats: SchedulerStats;
  /** When the step's outputs were produced, in seconds on `nowSeconds()`'s clock. */
  readonly timestamp: number;
}
