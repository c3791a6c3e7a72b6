import type { EngineCoreOutputBatch } from './engine-core-output.js';
import type { EngineCoreRequest } from './engine-core-request.js';
import type { RequestId } from './ids.js';
import type { ModelRunnerOutput } from './model-runner-output.js';
import type { FinishedStatus } from './request-status.js';
import type { SchedulerOutput } from './scheduler-output.js';
import type { SchedulerStats } from './scheduler-stats.js';

/**
 * The contract both schedulers (V0 and V1) implement. Plain data in, plain data out: a scheduler
 * never sees tensors, the tokenizer or HTTP. The engine core drives it in a loop:
 * `schedule()` -> model runner -> `updateFromOutput()`, with `addRequest` / `finishRequests`
 * between steps.
 */
export interface Scheduler {
  /** Which algorithm this is. */
  readonly specificationVersion: 'v0' | 'v1';

  /**
   * Queues a new request as WAITING. Called between steps.
   * @throws VllmError when the id is already live or the request is invalid for this scheduler
   */
  addRequest(request: EngineCoreRequest): void;

  /**
   * Decides the next step: which requests compute how many tokens, within the budgets. Allocates KV
   * blocks, may preempt, and advances each scheduled request's computed-token count.
   */
  schedule(): SchedulerOutput;

  /**
   * Applies the runner's results for `schedulerOutput`: appends sampled tokens, corrects for
   * rejected drafts, checks stop conditions, frees finished requests. Requests aborted while the
   * step ran are skipped. Returns one row per request with news, in batch order, as columns
   * (iterating it gives `EngineCoreOutput` objects).
   */
  updateFromOutput(schedulerOutput: SchedulerOutput, runnerOutput: ModelRunnerOutput): EngineCoreOutputBatch;

  /** Records proposed draft tokens for the next step; drafts for requests still prefilling are ignored. */
  updateDraftTokenIds(draftTokenIds: ReadonlyMap<RequestId, readonly number[]>): void;

  /**
   * Finishes requests from outside (abort, stop string): removes them from every queue and frees their
   * blocks. Unknown or already-finished ids are ignored (idempotent). `null` finishes every request.
   */
  finishRequests(reqIds: Iterable<RequestId> | null, status: FinishedStatus): void;

  /** True while any request is waiting, running (or swapped). */
  hasUnfinishedRequests(): boolean;

  /** Number of live requests. */
  getNumUnfinishedRequests(): number;

  /** Current gauges and cumulative counters. */
  getStats(): SchedulerStats;

  /** Drops the prefix cache; false (and nothing changes) while requests hold blocks. */
  resetPrefixCache(): boolean;
}
