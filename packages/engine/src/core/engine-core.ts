import { EngineCoreOutputBatch, invariant, RequestStatus, VllmError } from '@vllm-ts/core';
import type {
  EngineCoreOutput,
  EngineCoreRequest,
  ModelRunnerOutput,
  RequestId,
  Scheduler,
  SchedulerOutput,
  SchedulerStats,
} from '@vllm-ts/core';
import { MAX_IN_FLIGHT_STEPS } from '../runner/model-runner.js';
import { nowSeconds } from './clock.js';
import type { EngineCoreOutputs } from './engine-core-outputs.js';

/** Consecutive steps that schedule nothing, with nothing running, before the core gives up on its requests. */
export const STALL_STEPS = 100;

/**
 * What the engine core needs from a model runner: one forward pass plus sampling per scheduled
 * step; with async scheduling, the same split into `submit` (queue the step) and `collect` (wait
 * for the oldest, return its output) — see `ModelRunner.submit`.
 */
export interface StepExecutor {
  execute(schedulerOutput: SchedulerOutput): ModelRunnerOutput;
  submit?(schedulerOutput: SchedulerOutput): void;
  collect?(): ModelRunnerOutput;
}

/**
 * Proposes draft tokens for speculative decoding from each request's own tokens
 * (`NgramProposer` in `spec-decode/` is the implementation).
 */
export interface DraftProposer {
  /** Starts tracking a request from its prompt. */
  addRequest(reqId: RequestId, promptTokenIds: readonly number[]): void;
  /** Adds the tokens a tracked request produced in a step. */
  appendTokens(reqId: RequestId, tokenIds: readonly number[]): void;
  /** Stops tracking a request; a no-op for untracked ids. */
  removeRequest(reqId: RequestId): void;
  /**
   * Drafts for the given requests (those without a match are left out).
   * @param reqIds tracked requests that sampled a token this step
   */
  propose(reqIds: readonly RequestId[]): Map<RequestId, number[]>;
}

/** Options of {@link EngineCore}. */
export interface EngineCoreOptions {
  /** Speculative decoding: proposes draft tokens after every step. */
  readonly proposer?: DraftProposer;
  /** Called with every error that failed requests (the loop itself keeps going). */
  readonly onError?: (error: unknown, failed: readonly RequestId[]) => void;
  /** Called between the forward pass and `updateFromOutput`, so aborts that arrived meanwhile apply to this step. */
  readonly beforeUpdate?: () => void;
  /**
   * vLLM's async scheduling: step N+1 is scheduled and submitted before step N's output is
   * collected (a batch queue of {@link MAX_IN_FLIGHT_STEPS}). Needs a scheduler built for it
   * and an executor with `submit`/`collect`; excludes a proposer.
   */
  readonly asyncScheduling?: boolean;
}

/**
 * The engine core: a scheduler and a model runner driven in vLLM's loop,
 * `schedule()` -> `execute()` -> `updateFromOutput()`, with adds and aborts between steps.
 *
 * A failing forward pass fails only the requests scheduled in that step (finish reason `error`);
 * the others keep their work and the loop keeps going.
 */
export class EngineCore {
  private readonly scheduler: Scheduler;
  private readonly executor: StepExecutor;
  private readonly options: EngineCoreOptions;
  /** Requests added and not yet finished (for failing them all when the scheduler stalls). */
  private readonly live = new Set<RequestId>();
  private stalledSteps = 0;
  /** Outputs produced between steps (requests refused at add time), sent with the next step. */
  private pending: EngineCoreOutputBatch = new EngineCoreOutputBatch(0);
  /** Async scheduling: submitted steps not yet collected, oldest first. */
  private readonly inFlight: SchedulerOutput[] = [];

  /**
   * @param scheduler the V0 or V1 scheduler
   * @param executor the model runner
   * @param options proposer, error hook, pre-update hook
   */
  constructor(scheduler: Scheduler, executor: StepExecutor, options: EngineCoreOptions = {}) {
    this.scheduler = scheduler;
    this.executor = executor;
    this.options = options;
    if (options.asyncScheduling === true) {
      invariant(executor.submit !== undefined && executor.collect !== undefined, 'async scheduling needs an executor with submit() and collect()');
      invariant(options.proposer === undefined, 'async scheduling excludes speculative decoding');
    }
  }

  /** True while the scheduler holds requests, steps are in flight or outputs wait to be sent. */
  hasWork(): boolean {
    return this.pending.length > 0 || this.inFlight.length > 0 || this.scheduler.hasUnfinishedRequests();
  }

  /** Steps submitted and not yet collected (async scheduling; always 0 otherwise). */
  get numInFlightSteps(): number {
    return this.inFlight.length;
  }

  /**
   * Queues a request. A request the scheduler refuses finishes with `error` in the next step's outputs.
   * @param request the tokenized request
   */
  addRequest(request: EngineCoreRequest): void {
    try {
      this.scheduler.addRequest(request);
      this.live.add(request.reqId);
      this.options.proposer?.addRequest(request.reqId, request.promptTokenIds);
    } catch (error) {
      this.options.onError?.(error, [request.reqId]);
      this.pending.appendOutput(errorOutput(request.reqId));
    }
  }

  /**
   * Aborts requests: they leave every queue and their KV blocks return to the pool now.
   * Unknown or finished ids are ignored.
   * @param reqIds engine-core ids
   */
  abortRequests(reqIds: readonly RequestId[]): void {
    if (reqIds.length === 0) return;
    this.scheduler.finishRequests(reqIds, RequestStatus.FINISHED_ABORTED);
    for (const id of reqIds) {
      this.live.delete(id);
      this.options.proposer?.removeRequest(id);
    }
  }

  /**
   * Aborts every live request (shutdown) and drains the steps in flight: their outputs are
   * collected and dropped, so the runner is idle and may be closed.
   */
  abortAll(): void {
    this.scheduler.finishRequests(null, RequestStatus.FINISHED_ABORTED);
    for (const id of this.live) this.options.proposer?.removeRequest(id);
    this.live.clear();
    while (this.inFlight.length > 0) {
      const so = this.inFlight.shift()!;
      try {
        // Every request is finished: the scheduler drops the rows, and keeps its per-step order.
        this.scheduler.updateFromOutput(so, this.executor.collect!());
      } catch (error) {
        this.options.onError?.(error, []);
      }
    }
  }

  /** The scheduler's current stats. */
  getStats(): SchedulerStats {
    return this.scheduler.getStats();
  }

  /** Drops the prefix cache; false while requests hold blocks. */
  resetPrefixCache(): boolean {
    return this.scheduler.resetPrefixCache();
  }

  /**
   * Runs one step. Returns null when nothing happened (no work, or nothing could be scheduled).
   * A scheduler that keeps scheduling nothing while no request runs can never make progress:
   * after {@link STALL_STEPS} such steps its requests are failed with `error`.
   */
  step(): EngineCoreOutputs | null {
    if (!this.hasWork()) return null;
    if (this.options.asyncScheduling === true) return this.stepAsync();
    let outputs = this.pending;
    if (outputs.length > 0) this.pending = new EngineCoreOutputBatch(0);
    if (this.scheduler.hasUnfinishedRequests()) {
      const so = this.scheduler.schedule();
      let news: EngineCoreOutputBatch;
      try {
        const runnerOutput = this.executor.execute(so);
        this.options.beforeUpdate?.();
        news = this.scheduler.updateFromOutput(so, runnerOutput);
      } catch (error) {
        news = this.failStep(so, error);
      }
      outputs = this.finishStep(so, news, outputs);
      if (outputs.length === 0 && so.totalNumScheduledTokens === 0) return null;
    }
    return { outputs, schedulerStats: this.scheduler.getStats(), timestamp: nowSeconds() };
  }

  /**
   * vLLM's `step_with_batch_queue`: fills the queue (schedule + submit while there is room and the
   * scheduler has requests; a step that scheduled nothing ends the fill, as the scheduler has
   * nothing more until an update), then collects the oldest step and applies its output. Every
   * scheduled step is submitted and updated, in schedule order.
   */
  private stepAsync(): EngineCoreOutputs | null {
    let outputs = this.pending;
    if (outputs.length > 0) this.pending = new EngineCoreOutputBatch(0);
    while (this.inFlight.length < MAX_IN_FLIGHT_STEPS && this.scheduler.hasUnfinishedRequests()) {
      const so = this.scheduler.schedule();
      try {
        this.executor.submit!(so);
      } catch (error) {
        // Nothing was queued: only this step's requests fail (earlier in-flight steps go on and
        // their rows of these requests are dropped by the scheduler).
        outputs = this.finishStep(so, this.failStep(so, error), outputs);
        break;
      }
      this.inFlight.push(so);
      if (so.totalNumScheduledTokens === 0) break;
    }
    const so = this.inFlight.shift();
    if (so === undefined) return outputs.length === 0 ? null : { outputs, schedulerStats: this.scheduler.getStats(), timestamp: nowSeconds() };
    let news: EngineCoreOutputBatch;
    try {
      const runnerOutput = this.executor.collect!();
      this.options.beforeUpdate?.();
      news = this.scheduler.updateFromOutput(so, runnerOutput);
    } catch (error) {
      // Later in-flight steps that read this step's tokens on the device hold rows of the same
      // requests: failing those requests makes the scheduler drop those rows too.
      news = this.failStep(so, error);
    }
    outputs = this.finishStep(so, news, outputs);
    if (outputs.length === 0 && so.totalNumScheduledTokens === 0 && this.inFlight.length === 0) return null;
    return { outputs, schedulerStats: this.scheduler.getStats(), timestamp: nowSeconds() };
  }

  /** Books one step's outputs (finished requests, drafts, stall detection) and appends them to `outputs`. */
  private finishStep(so: SchedulerOutput, news: EngineCoreOutputBatch, outputs: EngineCoreOutputBatch): EngineCoreOutputBatch {
    // Finished rows are among the extras: no walk over every row for them.
    for (const x of news.extras) if (x.finishReason !== null) this.live.delete(news.reqIds[x.row]!);
    this.proposeDrafts(news);
    if (outputs.length === 0) outputs = news;
    else outputs.appendBatch(news);
    const stalled = so.totalNumScheduledTokens === 0 && outputs.length === 0 && this.inFlight.length === 0 && this.scheduler.getStats().numRunningReqs === 0;
    this.stalledSteps = stalled ? this.stalledSteps + 1 : 0;
    if (this.stalledSteps >= STALL_STEPS) for (const o of this.failStalled()) outputs.appendOutput(o);
    return outputs;
  }

  /** Fails every live request of a scheduler that cannot make progress. */
  private failStalled(): EngineCoreOutput[] {
    const stuck = [...this.live];
    this.stalledSteps = 0;
    this.scheduler.finishRequests(stuck, RequestStatus.FINISHED_ERROR);
    for (const id of stuck) this.options.proposer?.removeRequest(id);
    this.live.clear();
    this.options.onError?.(
      new VllmError('scheduler_stalled', `[engine] the scheduler scheduled nothing for ${STALL_STEPS} steps with no request running; failing ${stuck.length} request(s)`),
      stuck,
    );
    return stuck.map(errorOutput);
  }

  /**
   * Finishes every still-live request of a failed step with `error` and reports them (a request
   * that finished or was aborted meanwhile already had its final output).
   */
  private failStep(so: SchedulerOutput, error: unknown): EngineCoreOutputBatch {
    const failed = [...so.numScheduledTokens.keys()].filter((id) => this.live.has(id));
    this.scheduler.finishRequests(failed, RequestStatus.FINISHED_ERROR);
    for (const id of failed) {
      this.live.delete(id);
      this.options.proposer?.removeRequest(id);
    }
    this.options.onError?.(error, failed);
    return EngineCoreOutputBatch.from(failed.map(errorOutput));
  }

  private proposeDrafts(news: EngineCoreOutputBatch): void {
    const proposer = this.options.proposer;
    if (proposer === undefined) return;
    const decoding: RequestId[] = [];
    let e = 0;
    for (let row = 0; row < news.length; row++) {
      const reqId = news.reqIds[row]!;
      const x = news.extras[e];
      if (x !== undefined && x.row === row) {
        e++;
        if (x.finishReason !== null) {
          proposer.removeRequest(reqId);
          continue;
        }
      }
      if (news.offsets[row + 1]! > news.offsets[row]! && this.live.has(reqId)) {
        proposer.appendTokens(reqId, news.tokensOf(row));
        decoding.push(reqId);
      }
    }
    // NOTE: only requests that sampled this step are past their prefill; drafts for the others would be ignored.
    const drafts = proposer.propose(decoding);
    if (drafts.size > 0) this.scheduler.updateDraftTokenIds(drafts);
  }
}

function errorOutput(reqId: RequestId): EngineCoreOutput {
  return {
    reqId,
    newTokenIds: [],
    finishReason: 'error',
    stopReason: null,
    newLogprobs: null,
    newPromptLogprobs: null,
    numCachedTokens: 0,
    events: [],
  };
}
