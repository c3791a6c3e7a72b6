import {
  cachedRequestDataFromColumns,
  emptyKVCacheOps,
  type BlockId,
  type CachedRequestColumns,
  type CachedRequestData,
  type KVCacheBlocks,
  type KVCacheManager,
  type NewRequestData,
  type RequestId,
  type SchedulerOutput,
} from '@vllm-ts/core';
import type { Request } from './request.js';
import { ScheduledTokens } from './scheduled-tokens.js';
import { preallocated } from './preallocated.js';
import { newRequestData } from './scheduler-io.js';

const NO_BLOCKS: readonly BlockId[] = Object.freeze([]);
const NO_TOKENS: readonly number[] = Object.freeze([]);

// `scheduledCachedReqs` of the steps' outputs, made from their columns on first read.
const materialized = new WeakMap<CachedRequestColumns, readonly CachedRequestData[]>();

// An own, enumerable accessor, so spreads, `toEqual` and `structuredClone` see the array. One shared
// getter rather than a closure per step: V8 then reuses the object's map transition (an accessor in
// an object literal, or a fresh getter per object, costs a runtime call and a new map every step).
const SCHEDULED_CACHED_REQS: PropertyDescriptor = Object.freeze({
  enumerable: true,
  configurable: true,
  get(this: SchedulerOutput): readonly CachedRequestData[] {
    const columns = this.cachedReqColumns!;
    let reqs = materialized.get(columns);
    if (reqs === undefined) {
      reqs = cachedRequestDataFromColumns(columns);
      materialized.set(columns, reqs);
    }
    return reqs;
  },
});

/**
 * What {@link StepBuilder.addDecodes} needs from the KV cache: the prefix-caching manager's decode
 * limit beside the contract's `allocateSlots`.
 * @internal
 */
export interface DecodeSlots {
  decodeLimit(request: Request): number;
  allocateSlots(request: Request, numNewTokens: number): KVCacheBlocks | null;
}

/**
 * One `schedule()` call's output under construction. Every scheduled request is added once, with
 * its tokens; only the priority policy ever takes one back (a later request preempted it).
 * Its lists are allocated once at the expected size and filled by index (no regrowth per step). The
 * known requests' diffs are built as `CachedRequestColumns` (a typed array of computed counts and
 * short sparse lists; the running entries' ids are the batch's own), and `scheduledCachedReqs` is
 * made from them only if a consumer reads it.
 * Invariant: until the first waiting request is added, `batch` and the cached entries are aligned
 * one to one (so a running request's index in one is its index in the other).
 * @internal
 */
export class StepBuilder {
  /** Scheduled requests in batch (`numScheduledTokens`) order; complete once built. */
  readonly batch: Request[];
  /** Per batch entry: 1 when the step samples for it (its tokens reach the end of its known ones). */
  samples: Uint8Array;
  /** Tokens the step may still schedule. */
  budget: number;
  readonly preempted = new Set<RequestId>();
  private readonly numScheduled: ScheduledTokens;
  private readonly specTokens = new Map<RequestId, readonly number[]>();
  private readonly scheduledNew: NewRequestData[] = [];
  // The cached entries: running ones (ids shared with the batch), then resumed ones.
  private numCached = 0;
  private numComputed: Int32Array;
  private readonly blockEntries: number[] = [];
  private readonly blockIds: (readonly BlockId[])[] = [];
  private readonly resumedEntries: number[] = [];
  private readonly resumedTokenIds: (readonly number[] | null)[] = [];
  private readonly resumedIds: RequestId[] = [];
  // Entries of `batch`, filled by index.
  private numBatch = 0;
  private readonly asyncScheduling: boolean;

  /**
   * @param budget the token budget
   * @param capacity requests the step may schedule (a hint: room is reserved for that many)
   * @param asyncScheduling count a placeholder for every request the step samples for
   * @param spareSamples a `samples` array no one reads any more (an applied step's), reused when
   *   it is large enough: it is internal, so it need not be fresh, and every entry is written
   *   before it is read
   */
  constructor(budget: number, capacity: number, asyncScheduling: boolean, spareSamples: Uint8Array | null = null) {
    this.budget = budget;
    this.asyncScheduling = asyncScheduling;
    this.batch = preallocated<Request>(capacity);
    this.samples = spareSamples !== null && spareSamples.length >= capacity ? spareSamples : new Uint8Array(Math.max(capacity, 1));
    this.numComputed = new Int32Array(Math.max(capacity, 1));
    this.numScheduled = new ScheduledTokens(capacity);
  }

  /**
   * Adds `running[i], running[i + 1], ...` while each is a plain decode step: one token to compute
   * (its last one, or the one after its in-flight placeholders), no drafts, within `maxModelLen`;
   * the same entries as {@link addRunning}. Past the KV cache's decode limit (kept on the request,
   * read again from `kv` when it falls short) the step needs a block cached or a new block, and
   * `kv.allocateSlots(req, 1)` (what the general path would call) runs here. Stops at the first
   * request that is not plain, whose allocation fails (nothing changed: the general path preempts),
   * or when the budget or the reserved room runs out.
   * @returns the index of the first request not added
   */
  addDecodes(running: readonly Request[], i: number, maxModelLen: number, kv: DecodeSlots): number {
    const batch = this.batch;
    const samples = this.samples;
    const numComputed = this.numComputed;
    const scheduled = this.numScheduled;
    const ids = scheduled.ids;
    const counts = scheduled.counts;
    const room = Math.min(samples.length, numComputed.length, ids.length);
    const pipelined = this.asyncScheduling;
    let k = this.numBatch;
    let c = this.numCached;
    let budget = this.budget;
    // Invariant (see the class): no waiting request added yet, so batch entries and cached entries align.
    for (; i < running.length && budget > 0 && k < room; i++) {
      const req = running[i]!;
      const placeholders = req.numOutputPlaceholders;
      const numTokens = req.numTokens;
      const computed = req.numComputedTokens;
      if (numTokens + placeholders - computed !== 1 || computed + 2 > maxModelLen || req.specTokenIds.length !== 0) break;
      if (placeholders > 0 && numTokens + placeholders >= req.maxTokensEnd) break;
      if (computed + 1 > req.decodeLimit) {
        req.decodeLimit = kv.decodeLimit(req);
        if (computed + 1 > req.decodeLimit) {
          const blocks = kv.allocateSlots(req, 1);
          if (blocks === null) break;
          if (blocks.length > 0) {
            this.blockEntries.push(c);
            this.blockIds.push(blocks.getBlockIds());
          }
        }
      }
      numComputed[c++] = computed;
      batch[k] = req;
      ids[k] = req.reqId;
      counts[k] = 1;
      samples[k] = 1;
      k++;
      req.stepTokens = 1;
      req.numComputedTokens = computed + 1;
      req.isPrefillChunk = false;
      if (pipelined) req.numOutputPlaceholders = placeholders + 1;
      budget--;
    }
    scheduled.count = k;
    this.numBatch = k;
    this.numCached = c;
    this.budget = budget;
    return i;
  }

  /** A running request gets `numTokens` (drafts included) and the new blocks allocated for them. */
  addRunning(req: Request, numTokens: number, newBlocks: KVCacheBlocks): void {
    const numComputed = req.numComputedTokens;
    this.addCached(numComputed, newBlocks.length === 0 ? NO_BLOCKS : newBlocks.getBlockIds());
    if (req.specTokenIds.length > 0) {
      const numSpec = numTokens + numComputed - req.numTokens;
      if (numSpec > 0) this.specTokens.set(req.reqId, req.specTokenIds.length > numSpec ? req.specTokenIds.slice(0, numSpec) : req.specTokenIds);
      req.specTokenIds = NO_TOKENS;
    }
    this.add(req, numTokens);
  }

  /** A waiting request, just admitted (`resumed` when it was preempted before). */
  addWaiting(req: Request, numTokens: number, resumed: boolean, kv: KVCacheManager): void {
    // A resumed request replaces what the runner had: its whole new table and all its tokens.
    if (resumed) {
      this.resumedEntries.push(this.numCached);
      this.resumedTokenIds.push(req.allTokenIds());
      this.resumedIds.push(req.reqId);
      this.addCached(req.numComputedTokens, [...kv.getBlockIds(req.reqId)]);
    } else this.scheduledNew.push(newRequestData(req, kv));
    this.add(req, numTokens);
  }

  /** Takes back a running request scheduled earlier in this step (it was preempted); no-op otherwise. */
  removeRunning(req: Request): void {
    const at = this.batch.indexOf(req);
    if (at < 0 || at >= this.numBatch) return;
    this.budget += req.stepTokens;
    if (this.samples[at] === 1 && this.asyncScheduling) req.numOutputPlaceholders--;
    this.samples.copyWithin(at, at + 1, this.numBatch);
    this.numScheduled.remove(req.reqId);
    this.specTokens.delete(req.reqId);
    // Running requests come first in the batch and the cached entries, one to one, and no resumed
    // entry exists yet (this runs during the running pass).
    this.batch.splice(at, 1);
    this.numBatch--;
    this.numComputed.copyWithin(at, at + 1, this.numCached);
    this.numCached--;
    const b = this.blockEntries.indexOf(at);
    if (b >= 0) {
      this.blockEntries.splice(b, 1);
      this.blockIds.splice(b, 1);
    }
    for (let k = 0; k < this.blockEntries.length; k++) if (this.blockEntries[k]! > at) this.blockEntries[k]!--;
  }

  /** The finished output; `maxNumBatchedTokens` is the budget the step started with. */
  build(maxNumBatchedTokens: number, finishedReqIds: ReadonlySet<RequestId>): SchedulerOutput {
    this.batch.length = this.numBatch;
    this.numScheduled.seal();
    const numRunning = this.numCached - this.resumedIds.length;
    const columns: CachedRequestColumns = {
      length: this.numCached,
      reqIds: this.resumedIds.length === 0 ? this.numScheduled.ids : this.numScheduled.ids.slice(0, numRunning).concat(this.resumedIds),
      numComputedTokens: this.numComputed,
      blockEntries: this.blockEntries,
      blockIds: this.blockIds,
      resumedEntries: this.resumedEntries,
      resumedTokenIds: this.resumedTokenIds,
    };
    const out: Omit<SchedulerOutput, 'scheduledCachedReqs'> = {
      scheduledNewReqs: this.scheduledNew,
      cachedReqColumns: columns,
      numScheduledTokens: this.numScheduled,
      totalNumScheduledTokens: maxNumBatchedTokens - this.budget,
      scheduledSpecDecodeTokens: this.specTokens,
      finishedReqIds,
      preemptedReqIds: this.preempted,
      kvCacheOps: emptyKVCacheOps(),
    };
    return Object.defineProperty(out, 'scheduledCachedReqs', SCHEDULED_CACHED_REQS) as SchedulerOutput;
  }

  private addCached(numComputedTokens: number, newBlockIds: readonly BlockId[]): void {
    const k = this.numCached++;
    if (k === this.numComputed.length) {
      const grown = new Int32Array(2 * k);
      grown.set(this.numComputed);
      this.numComputed = grown;
    }
    this.numComputed[k] = numComputedTokens;
    if (newBlockIds.length > 0) {
      this.blockEntries.push(k);
      this.blockIds.push(newBlockIds);
    }
  }

  // Also advances the request's computed count (optimistically: a chunked prefill continues next
  // step); the diffs above were recorded with the count before this step. A step whose tokens reach
  // the end of the request's known and in-flight tokens samples one more (a placeholder until its
  // output arrives, under async scheduling).
  private add(req: Request, numTokens: number): void {
    const k = this.numBatch++;
    this.batch[k] = req;
    req.stepTokens = numTokens;
    this.numScheduled.push(req.reqId, numTokens);
    this.budget -= numTokens;
    const computed = req.numComputedTokens + numTokens;
    req.numComputedTokens = computed;
    const placeholders = req.numOutputPlaceholders;
    const chunk = computed < req.numTokens + placeholders;
    req.isPrefillChunk = chunk;
    if (k === this.samples.length) {
      const grown = new Uint8Array(2 * k);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[k] = chunk ? 0 : 1;
    if (!chunk && this.asyncScheduling) req.numOutputPlaceholders = placeholders + 1;
  }
}
