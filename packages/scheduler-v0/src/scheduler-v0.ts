import { BlockSpaceManager } from '@vllm-ts/block-allocator';
import {
  EngineCoreOutputBatch,
  InvalidArgumentError,
  RequestStatus,
  VllmError,
  finishReasonOf,
  type EngineCoreRequest,
  type FinishedStatus,
  type ModelRunnerOutput,
  type RequestId,
  type Scheduler,
  type SchedulerOutput,
  type SchedulerStats,
} from '@vllm-ts/core';
import { PrefixCachingBlockSpaceManager } from '@vllm-ts/prefix-cache';
import { resolveSchedulerV0Config, type SchedulerV0Config, type SchedulerV0Options } from './config.js';
import {
  byPriority,
  finishingPrefillsFirst,
  partialPrefills,
  schedulePrefills,
  schedulePriorityPreemption,
  scheduleRunning,
  scheduleSwapped,
  type RunningResult,
} from './schedule-passes.js';
import { SchedulingBudget } from './scheduling-budget.js';
import { SequenceGroup } from './sequence-group.js';
import { StepPlan } from './step-plan.js';
import { SchedulerState } from './scheduler-state.js';
import { checkStop } from './stop-check.js';

const NO_PREEMPTIONS: RunningResult = Object.freeze({ decodes: [], prefills: [], preempted: [], swappedOut: [] });

/**
 * vLLM's V0 scheduler behind the shared {@link Scheduler} contract.
 *
 * - Default mode: when nothing is swapped out, admit whole prompts from `waiting` (FCFS or
 *   priority) within the token budget, `maxNumSeqs` and the block watermark; a step that admits
 *   anything is prefill-only. Otherwise run one decode token per running sequence, preempting the
 *   newest running group when slots cannot be appended, then swap groups back in if nothing was
 *   preempted.
 * - Chunked mode: decode-first, then prefill chunks of running groups, swap-ins, then new prompts,
 *   all in one mixed step; prefills go first in the batch.
 * - Preemption: recompute (free the blocks, requeue at the head of `waiting`) for single-sequence
 *   groups, swap (blocks to the CPU pool, `kvCacheOps.swapOut`) for parallel-sampling groups, or as
 *   forced by `preemptionMode`. Swapped groups resume before new admissions. A swap that finds the
 *   CPU pool full falls back to recompute (V0 killed the engine instead).
 * - Parallel sampling: the `n` sequences are `childRequestId(reqId, i)`; the first is prefilled, the
 *   rest are forked from it copy-on-write in the step that completes its prompt (`forkedFrom`).
 *
 * @example
 * ```ts
 * const scheduler = new SchedulerV0({ numGpuBlocks: 1024, maxModelLen: 2048 });
 * scheduler.addRequest(request);
 * while (scheduler.hasUnfinishedRequests()) {
 *   const step = scheduler.schedule();
 *   const outputs = scheduler.updateFromOutput(step, await runner.execute(step));
 * }
 * ```
 */
export class SchedulerV0 implements Scheduler {
  readonly specificationVersion = 'v0' as const;
  /** The resolved configuration. */
  readonly config: SchedulerV0Config;
  /** The block manager (naive, or prefix caching when enabled). */
  readonly bm: BlockSpaceManager;
  private readonly st: SchedulerState;

  /**
   * @param options sizes, budgets and policies
   * @throws InvalidArgumentError (`invalid_option`) for a bad or unknown option
   */
  constructor(options: SchedulerV0Options) {
    this.config = resolveSchedulerV0Config(options);
    const c = this.config;
    const bmOptions = { blockSize: c.blockSize, numGpuBlocks: c.numGpuBlocks, numCpuBlocks: c.numCpuBlocks, watermark: c.watermark };
    this.bm = c.enablePrefixCaching
      ? new PrefixCachingBlockSpaceManager({ ...bmOptions, hashAlgorithm: c.prefixCachingHashAlgo, hashSeed: c.hashSeed })
      : new BlockSpaceManager(bmOptions);
    this.st = new SchedulerState(this.config, this.bm);
  }

  /**
   * Queues a request as WAITING (in priority order under the `priority` policy).
   * @param request a validated engine request
   * @throws VllmError (`duplicate_request_id`) when its id, or one of its parallel-sample ids, is live
   * @throws VllmError (`invalid_prompt`) for an empty prompt
   * @throws InvalidArgumentError (`invalid_sampling_params`) when `n` exceeds `maxNumSeqs`
   */
  addRequest(request: EngineCoreRequest): void {
    if (request.promptTokenIds.length === 0) {
      throw new VllmError('invalid_prompt', `[scheduler-v0] request ${request.reqId} has an empty prompt; expected at least one token`);
    }
    if (request.samplingParams.n > this.config.maxNumSeqs) {
      // A group runs all its samples at once: more than maxNumSeqs could never be scheduled.
      const p = request.samplingParams;
      throw new InvalidArgumentError('invalid_sampling_params', 'SamplingParams', 'n', `an integer <= maxNumSeqs (${this.config.maxNumSeqs}) under the V0 scheduler`, p.n);
    }
    const g = new SequenceGroup(request);
    for (const id of [g.requestId, ...g.seqs.map((s) => s.seqId)]) {
      if (this.st.groups.has(id) || this.st.seqs.has(id)) {
        throw new VllmError('duplicate_request_id', `[scheduler-v0] request id ${id} is already live; ids must be unique among live requests`);
      }
    }
    this.st.groups.set(g.requestId, g);
    for (const s of g.seqs) this.st.seqs.set(s.seqId, s);
    g.events.push({ type: 'queued', timestamp: this.config.clock() });
    this.st.waiting.push(g);
    if (this.config.schedulingPolicy === 'priority') this.st.waiting.sort(byPriority);
  }

  /** Decides the next step (see the class summary for the policy). */
  schedule(): SchedulerOutput {
    const c = this.config;
    this.st.now = c.clock();
    const plan = new StepPlan();
    const budget = new SchedulingBudget(c.maxNumBatchedTokens, c.maxNumSeqs);
    let admitted: SequenceGroup[];
    let rr = NO_PREEMPTIONS;
    let swappedIn = { decodes: [] as SequenceGroup[], prefills: [] as SequenceGroup[] };
    if (!c.enableChunkedPrefill) {
      for (const g of this.st.running) budget.addSeqs(g.requestId, g.maxNumRunningSeqs);
      admitted = this.st.swapped.length === 0 ? schedulePrefills(this.st, budget, plan, null) : [];
      if (c.schedulingPolicy === 'priority' && admitted.length === 0) schedulePriorityPreemption(this.st, budget, plan);
      if (admitted.length === 0) {
        rr = scheduleRunning(this.st, budget, plan, null);
        // No swap-in in a step that preempted anyone (priority preemption included), so a step never
        // both swaps out and swaps in and the runner may apply the two in either order.
        if (plan.numPreemptedGroups === 0) swappedIn = scheduleSwapped(this.st, budget, plan, null);
      }
      // Prefill groups only show up here for a recomputed parallel-sampling group spread over steps.
      appendAll(this.st.running, admitted, rr.prefills, rr.decodes, swappedIn.prefills, swappedIn.decodes);
    } else {
      const pp = partialPrefills(this.st);
      rr = scheduleRunning(this.st, budget, plan, pp);
      if (plan.numPreemptedGroups === 0) swappedIn = scheduleSwapped(this.st, budget, plan, pp);
      admitted = schedulePrefills(this.st, budget, plan, pp);
      appendAll(this.st.running, swappedIn.decodes, swappedIn.prefills, rr.decodes, finishingPrefillsFirst(rr.prefills), admitted);
    }
    if (admitted.length > 0) this.st.prevPrompt = true;
    if (rr.preempted.length > 0) {
      // Preempted groups go back to the head of `waiting`, the oldest first.
      this.st.waiting.unshift(...[...rr.preempted].reverse());
      if (c.schedulingPolicy === 'priority') this.st.waiting.sort(byPriority);
    }
    appendAll(this.st.swapped, rr.swappedOut);
    const output = plan.build(this.bm, this.st.finishedReqIds);
    this.st.finishedReqIds = new Set();
    this.bm.markScheduled(this.computedAfterStep(output), this.st.now);
    return output;
  }

  /**
   * Appends the sampled tokens, applies the stop rules (truncating a multi-token step at the stop)
   * and frees finished sequences. Sequences finished while the step ran are skipped. Groups ignored
   * at admission (too long, or never fitting) are reported here too, with `length`.
   */
  updateFromOutput(schedulerOutput: SchedulerOutput, runnerOutput: ModelRunnerOutput): EngineCoreOutputBatch {
    const outputs = EngineCoreOutputBatch.from(this.st.pendingOutputs);
    this.st.pendingOutputs = [];
    let anyGroupFinished = false;
    for (const id of schedulerOutput.numScheduledTokens.keys()) {
      const seq = this.st.seqs.get(id);
      if (seq === undefined || seq.isFinished || seq.status !== RequestStatus.RUNNING) continue;
      const promptLogprobs = runnerOutput.promptLogprobs.get(id) ?? null;
      const newTokenIds: number[] = [];
      let status: FinishedStatus | null = null;
      if (seq.numComputedTokens >= seq.tokenIds.length) {
        for (const t of runnerOutput.sampledTokenIds.get(id) ?? []) {
          seq.tokenIds.push(t);
          seq.outputTokenIds.push(t);
          newTokenIds.push(t);
          status = checkStop(seq, this.config.maxModelLen);
          if (status !== null) break;
        }
      }
      if (status !== null) anyGroupFinished = this.st.finishSeq(seq, status) || anyGroupFinished;
      const g = seq.group;
      if (newTokenIds.length === 0 && status === null && promptLogprobs === null) continue;
      const logprobs = runnerOutput.logprobs.get(id);
      const row = outputs.append(id, newTokenIds, 0, newTokenIds.length, seq.numCachedTokens);
      const events = this.st.takeEvents(g);
      if (status !== null || logprobs !== undefined || promptLogprobs !== null || events.length > 0) {
        const finishReason = status === null ? null : finishReasonOf(status);
        outputs.setExtras(row, finishReason, seq.stopReason, logprobs === undefined ? null : logprobs.slice(0, newTokenIds.length), promptLogprobs, events);
      }
    }
    if (anyGroupFinished) this.st.running = this.st.running.filter((g) => !g.isFinished);
    return outputs;
  }

  /** V0 verifies no draft tokens: proposals are dropped (the V1 scheduler schedules them). */
  updateDraftTokenIds(): void {}

  /**
   * Finishes requests from outside. An id may name a request (all its sequences) or one parallel
   * sample (`childRequestId`); finishing the first sample before the fork finishes the request, as
   * the others have no prompt yet. Unknown or finished ids are ignored; `null` finishes everything.
   */
  finishRequests(reqIds: Iterable<RequestId> | null, status: FinishedStatus): void {
    const touched = new Set<SequenceGroup>();
    const ids = reqIds === null ? [...this.st.groups.keys()] : reqIds;
    for (const id of ids) {
      const g = this.st.groups.get(id);
      const seq = g === undefined ? this.st.seqs.get(id) : undefined;
      const targets = g !== undefined ? g.seqs : seq === undefined ? [] : seq === seq.group.seqs[0] && !seq.group.isForked ? seq.group.seqs : [seq];
      for (const s of targets) {
        if (s.isFinished) continue;
        this.st.finishSeq(s, status);
        touched.add(s.group);
      }
    }
    const done = [...touched].filter((g) => g.isFinished);
    if (done.length === 0) return;
    const gone = new Set(done);
    this.st.running = this.st.running.filter((g) => !gone.has(g));
    this.st.waiting = this.st.waiting.filter((g) => !gone.has(g));
    this.st.swapped = this.st.swapped.filter((g) => !gone.has(g));
  }

  /** True while any request is waiting, running or swapped. */
  hasUnfinishedRequests(): boolean {
    return this.st.groups.size > 0;
  }

  /** Live requests (groups, not parallel samples). */
  getNumUnfinishedRequests(): number {
    return this.st.groups.size;
  }

  /** Queue lengths (in requests), device KV usage, prefix-cache counters (tokens), preemptions. */
  getStats(): SchedulerStats {
    return {
      numRunningReqs: this.st.running.length,
      numWaitingReqs: this.st.waiting.length,
      numSwappedReqs: this.st.swapped.length,
      kvCacheUsage: this.bm.gpuUsage,
      prefixCache: { ...this.st.cacheStats },
      numPreemptions: this.st.numPreemptions,
      specDecoding: { numDrafts: 0, numDraftTokens: 0, numAcceptedTokens: 0, numAcceptedTokensPerPos: [] },
    };
  }

  /** V0's block-level prefix-cache hit rate in [0, 1], or -1 when prefix caching is off. */
  get prefixCacheHitRate(): number {
    return this.bm.prefixCacheHitRate;
  }

  /** Drops the prefix cache; false (nothing changes) while sequences hold blocks. */
  resetPrefixCache(): boolean {
    const ok = this.bm.resetPrefixCache();
    if (ok) this.st.cacheStats.resets++;
    return ok;
  }

  private *computedAfterStep(output: SchedulerOutput): Iterable<readonly [RequestId, number]> {
    for (const id of output.numScheduledTokens.keys()) yield [id, this.st.seqs.get(id)!.numComputedTokens];
  }

}

/** Appends every list to `target` in order (no argument spreading: lists may be long). */
function appendAll<T>(target: T[], ...lists: readonly (readonly T[])[]): void {
  for (const list of lists) for (const x of list) target.push(x);
}
