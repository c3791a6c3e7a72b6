import type { BlockSpaceManager } from '@vllm-ts/block-allocator';
import { RequestStatus, isFinished, type EngineCoreOutput, type FinishedStatus, type RequestId } from '@vllm-ts/core';
import type { SchedulerV0Config } from './config.js';
import type { PassContext } from './schedule-passes.js';
import type { Sequence, SequenceGroup } from './sequence-group.js';
import type { StepPlan } from './step-plan.js';

/**
 * The V0 scheduler's state between steps (queues, live groups, counters) and the operations the
 * scheduling passes call on it. Internal to {@link SchedulerV0}.
 */
export class SchedulerState implements PassContext {
  waiting: SequenceGroup[] = [];
  running: SequenceGroup[] = [];
  swapped: SequenceGroup[] = [];
  readonly groups = new Map<RequestId, SequenceGroup>();
  readonly seqs = new Map<RequestId, Sequence>();
  /** Sequences finished since the last step, for the runner. */
  finishedReqIds = new Set<RequestId>();
  /** Outputs produced outside `updateFromOutput` (ignored groups), reported by the next one. */
  pendingOutputs: EngineCoreOutput[] = [];
  numPreemptions = 0;
  readonly cacheStats = { queries: 0, hits: 0, preemptedQueries: 0, preemptedHits: 0, resets: 0 };
  /** The current step's time on the scheduler's clock. */
  now = 0;
  private prevTime = 0;
  /** The previous step admitted prompts (its latency feeds the delay factor). */
  prevPrompt = false;
  private lastPromptLatency = 0;

  /**
   * @param config resolved options
   * @param bm the block manager
   */
  constructor(
    readonly config: SchedulerV0Config,
    readonly bm: BlockSpaceManager,
  ) {}

  /** V0's `_passed_delay`: admit when the oldest waited `factor` x the last prompt latency, or nothing runs. */
  passedDelay(): boolean {
    if (this.prevPrompt) this.lastPromptLatency = this.now - this.prevTime;
    this.prevTime = this.now;
    this.prevPrompt = false;
    const factor = this.config.schedulerDelayFactor;
    if (factor <= 0 || this.waiting.length === 0) return true;
    let earliest = Infinity;
    for (const g of this.waiting) earliest = Math.min(earliest, g.arrivalTime);
    return this.now - earliest > factor * this.lastPromptLatency || this.running.length === 0;
  }

  /** Recompute or swap `g` (swap falls back to recompute when the CPU pool is full or absent). */
  preempt(g: SequenceGroup, plan: StepPlan): 'recompute' | 'swap' {
    const mode = this.config.preemptionMode ?? (g.maxNumRunningSeqs === 1 ? 'recompute' : 'swap');
    const seqs = g.activeSeqs;
    const swapped = mode === 'swap' && this.bm.swapOut(seqs.map((s) => s.seqId), plan.swapOut);
    for (const s of seqs) {
      plan.preemptedSeqIds.add(s.seqId);
      if (swapped) {
        s.status = RequestStatus.SWAPPED;
        continue;
      }
      this.bm.free(s.seqId);
      s.status = RequestStatus.WAITING;
      s.numComputedTokens = 0;
      s.isKnownToRunner = false;
      s.isTableRewritten = false;
      s.numBlocksSent = 0;
    }
    g.numPreemptions++;
    g.events.push({ type: 'preempted', timestamp: this.now });
    this.numPreemptions++;
    plan.numPreemptedGroups++;
    return swapped ? 'swap' : 'recompute';
  }

  /** Finishes `g` as FINISHED_IGNORED and queues its `length` outputs. */
  ignore(g: SequenceGroup): void {
    for (const s of g.seqs) {
      if (s.isFinished) continue;
      this.finishSeq(s, RequestStatus.FINISHED_IGNORED);
      this.pendingOutputs.push({
        reqId: s.seqId,
        newTokenIds: [],
        finishReason: 'length',
        stopReason: null,
        newLogprobs: null,
        newPromptLogprobs: null,
        numCachedTokens: 0,
        events: this.takeEvents(g),
      });
    }
  }

  /** Records the admission of `g` (event, prefix-cache counters). */
  onAdmitted(g: SequenceGroup): void {
    g.events.push({ type: 'scheduled', timestamp: this.now });
    for (const s of g.activeSeqs) {
      s.status = RequestStatus.RUNNING;
      if (g.numPreemptions > 0) {
        this.cacheStats.preemptedQueries += s.tokenIds.length;
        this.cacheStats.preemptedHits += s.numCachedTokens;
      } else {
        this.cacheStats.queries += s.tokenIds.length;
        this.cacheStats.hits += s.numCachedTokens;
      }
    }
  }

  /** Frees `seq`; returns true when that finished its whole group (which leaves the maps). */
  finishSeq(seq: Sequence, status: FinishedStatus): boolean {
    this.bm.free(seq.seqId);
    seq.status = status;
    // Reported even when the runner never saw it (as V1 does): the runner ignores unknown ids.
    this.finishedReqIds.add(seq.seqId);
    const g = seq.group;
    if (!isFinished(status) || !g.isFinished) return false;
    this.groups.delete(g.requestId);
    for (const s of g.seqs) this.seqs.delete(s.seqId);
    return true;
  }

  /** The group's unreported events (handed over once). */
  takeEvents(g: SequenceGroup): SequenceGroup['events'] {
    if (g.events.length === 0) return [];
    const events = g.events;
    g.events = [];
    return events;
  }

  /** Drops finished groups from every queue. */
  removeGroups(done: ReadonlySet<SequenceGroup>): void {
    this.running = this.running.filter((g) => !done.has(g));
    this.waiting = this.waiting.filter((g) => !done.has(g));
    this.swapped = this.swapped.filter((g) => !done.has(g));
  }
}
