import {
  emptyKVCacheOps,
  type BlockId,
  type CachedRequestData,
  type KVCacheBlocks,
  type KVCacheManager,
  type NewRequestData,
  type RequestId,
  type SchedulerOutput,
} from '@vllm-ts/core';
import type { Request } from './request.js';
import { ScheduledTokens } from './scheduled-tokens.js';
import { newRequestData, resumedRequestData } from './scheduler-io.js';

const NO_BLOCKS: readonly BlockId[] = Object.freeze([]);
const NO_TOKENS: readonly number[] = Object.freeze([]);

/**
 * One `schedule()` call's output under construction. Every scheduled request is added once, with
 * its tokens; only the priority policy ever takes one back (a later request preempted it).
 * Invariant: until the first waiting request is added, `batch` and `cached` are aligned one to one.
 * @internal
 */
export class StepBuilder {
  /** Scheduled requests in batch (`numScheduledTokens`) order. */
  readonly batch: Request[] = [];
  /** Tokens the step may still schedule. */
  budget: number;
  readonly preempted = new Set<RequestId>();
  private readonly numScheduled = new ScheduledTokens();
  private readonly specTokens = new Map<RequestId, readonly number[]>();
  private readonly cached: CachedRequestData[] = [];
  private readonly scheduledNew: NewRequestData[] = [];

  constructor(budget: number) {
    this.budget = budget;
  }

  /** A running request gets `numTokens` (drafts included) and the new blocks allocated for them. */
  addRunning(req: Request, numTokens: number, newBlocks: KVCacheBlocks): void {
    this.cached.push({
      reqId: req.reqId,
      resumed: false,
      newBlockIds: newBlocks.length === 0 ? NO_BLOCKS : newBlocks.getBlockIds(),
      numComputedTokens: req.numComputedTokens,
      allTokenIds: null,
    });
    this.add(req, numTokens);
    if (req.specTokenIds.length > 0) {
      const numSpec = numTokens + req.numComputedTokens - req.numTokens;
      if (numSpec > 0) this.specTokens.set(req.reqId, req.specTokenIds.length > numSpec ? req.specTokenIds.slice(0, numSpec) : req.specTokenIds);
      req.specTokenIds = NO_TOKENS;
    }
  }

  /** A waiting request, just admitted (`resumed` when it was preempted before). */
  addWaiting(req: Request, numTokens: number, resumed: boolean, kv: KVCacheManager): void {
    if (resumed) this.cached.push(resumedRequestData(req, kv));
    else this.scheduledNew.push(newRequestData(req, kv));
    this.add(req, numTokens);
  }

  /** Takes back a running request scheduled earlier in this step (it was preempted); no-op otherwise. */
  removeRunning(req: Request): void {
    const at = this.batch.indexOf(req);
    if (at < 0) return;
    this.budget += req.stepTokens;
    this.numScheduled.remove(req.reqId);
    this.specTokens.delete(req.reqId);
    this.batch.splice(at, 1);
    this.cached.splice(at, 1);
  }

  /** The finished output; `maxNumBatchedTokens` is the budget the step started with. */
  build(maxNumBatchedTokens: number, finishedReqIds: ReadonlySet<RequestId>): SchedulerOutput {
    return {
      scheduledNewReqs: this.scheduledNew,
      scheduledCachedReqs: this.cached,
      numScheduledTokens: this.numScheduled,
      totalNumScheduledTokens: maxNumBatchedTokens - this.budget,
      scheduledSpecDecodeTokens: this.specTokens,
      finishedReqIds,
      preemptedReqIds: this.preempted,
      kvCacheOps: emptyKVCacheOps(),
    };
  }

  private add(req: Request, numTokens: number): void {
    this.batch.push(req);
    req.stepTokens = numTokens;
    this.numScheduled.push(req.reqId, numTokens);
    this.budget -= numTokens;
  }
}
