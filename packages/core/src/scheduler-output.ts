import type { BlockId, RequestId } from './ids.js';
import type { SamplingParamsData } from './sampling-params.js';

/** A request the model runner has not seen before (or must forget and relearn): everything it needs. */
export interface NewRequestData {
  readonly reqId: RequestId;
  /** Prompt token ids. */
  readonly promptTokenIds: readonly number[];
  /**
   * Output tokens already generated (non-empty when a request is re-sent whole, e.g. a V0 recompute
   * resume); the runner treats prompt followed by these as the sequence so far.
   */
  readonly outputTokenIds: readonly number[];
  readonly samplingParams: SamplingParamsData;
  /** The request's whole block table. */
  readonly blockIds: readonly BlockId[];
  /** Tokens whose KV is already in the cache (prefix-cache hits); computation starts at this position. */
  readonly numComputedTokens: number;
  /**
   * V0 parallel sampling only: this sequence was forked from `forkedFrom` in this step. It shares the
   * parent's blocks, is scheduled for 0 tokens, and samples its next token, with its own params, from
   * the parent's last logits row of this step. Null otherwise.
   */
  readonly forkedFrom: RequestId | null;
}

/** A request the runner already knows: only what changed. */
export interface CachedRequestData {
  readonly reqId: RequestId;
  /**
   * True when the request's block table must be replaced rather than extended: it was preempted and
   * is scheduled again, or (V0) its table changed in place through copy-on-write, swap-in or
   * prefix-cache dedup. `newBlockIds` is then the whole table and `allTokenIds` holds prompt +
   * outputs so far. Otherwise `newBlockIds` are appended.
   */
  readonly resumed: boolean;
  /** Blocks added to the request's table this step (the whole table when `resumed`). */
  readonly newBlockIds: readonly BlockId[];
  /** Tokens with KV in the cache before this step's computation. */
  readonly numComputedTokens: number;
  /** Prompt + output tokens, given only when `resumed`. */
  readonly allTokenIds: readonly number[] | null;
}

/**
 * The known requests' diffs of one step as columns (vLLM 0.10 batched its `CachedRequestData` the
 * same way): entry `i` is request `reqIds[i]`, with the meaning of {@link CachedRequestData}. The
 * per-entry columns may be longer than `length` (read entries `0..length-1` only); the rarer parts
 * are sparse, listed by entry in ascending order. No object per request: a scheduler fills one
 * typed array and a few short lists, a runner walks them.
 */
export interface CachedRequestColumns {
  /** Number of entries. */
  readonly length: number;
  /** Request id per entry. */
  readonly reqIds: readonly RequestId[];
  /** Tokens with KV in the cache before this step's computation, per entry. */
  readonly numComputedTokens: ArrayLike<number>;
  /** Entries that got blocks this step (ascending); the others got none. */
  readonly blockEntries: readonly number[];
  /** The blocks of each of `blockEntries`: appended, or the whole table for a resumed entry. */
  readonly blockIds: readonly (readonly BlockId[])[];
  /** Entries that are resumed (ascending): their table is replaced rather than extended. */
  readonly resumedEntries: readonly number[];
  /** Prompt + output tokens of each of `resumedEntries` (null when the runner's are still right). */
  readonly resumedTokenIds: readonly (readonly number[] | null)[];
}

const NO_BLOCK_IDS: readonly BlockId[] = Object.freeze([]);

/**
 * The cached-request diffs of a step as columns: the scheduler's own when it provides them
 * (`cachedReqColumns`), else built from `scheduledCachedReqs`.
 * @param out a scheduler output
 * @returns the diffs, in `scheduledCachedReqs` order
 */
export function cachedRequestColumnsOf(out: SchedulerOutput): CachedRequestColumns {
  if (out.cachedReqColumns !== undefined) return out.cachedReqColumns;
  const reqs = out.scheduledCachedReqs;
  const blockEntries: number[] = [];
  const blockIds: (readonly BlockId[])[] = [];
  const resumedEntries: number[] = [];
  const resumedTokenIds: (readonly number[] | null)[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    if (r.newBlockIds.length > 0 || r.resumed) {
      blockEntries.push(i);
      blockIds.push(r.newBlockIds);
    }
    if (r.resumed) {
      resumedEntries.push(i);
      resumedTokenIds.push(r.allTokenIds);
    }
  }
  return {
    length: reqs.length,
    reqIds: reqs.map((r) => r.reqId),
    numComputedTokens: reqs.map((r) => r.numComputedTokens),
    blockEntries,
    blockIds,
    resumedEntries,
    resumedTokenIds,
  };
}

/**
 * The entries of {@link CachedRequestColumns} as one object each (what `scheduledCachedReqs` holds).
 * @param columns the diffs as columns
 * @returns one {@link CachedRequestData} per entry, in order
 */
export function cachedRequestDataFromColumns(columns: CachedRequestColumns): CachedRequestData[] {
  const out: CachedRequestData[] = [];
  let b = 0;
  let r = 0;
  for (let i = 0; i < columns.length; i++) {
    let newBlockIds = NO_BLOCK_IDS;
    if (b < columns.blockEntries.length && columns.blockEntries[b] === i) newBlockIds = columns.blockIds[b++]!;
    const resumed = r < columns.resumedEntries.length && columns.resumedEntries[r] === i;
    const allTokenIds = resumed ? columns.resumedTokenIds[r++]! : null;
    out.push({ reqId: columns.reqIds[i]!, resumed, newBlockIds, numComputedTokens: columns.numComputedTokens[i]!, allTokenIds });
  }
  return out;
}

/**
 * Block moves the V0 scheduler asks the runner to do before the forward pass. V1 leaves them empty.
 * A step never both swaps out and swaps in; copies apply after the swaps.
 */
export interface KVCacheOps {
  /** (cpu block, device block) pairs to copy in. */
  readonly swapIn: readonly (readonly [BlockId, BlockId])[];
  /** (device block, cpu block) pairs to copy out. */
  readonly swapOut: readonly (readonly [BlockId, BlockId])[];
  /** (source, destination) device block pairs to copy (copy-on-write). */
  readonly copy: readonly (readonly [BlockId, BlockId])[];
}

/**
 * What to compute in one engine step: for each scheduled request, how many of its tokens.
 * Produced by {@link Scheduler.schedule}, consumed by the model runner, then handed back to
 * {@link Scheduler.updateFromOutput}.
 */
export interface SchedulerOutput {
  /** Requests scheduled for the first time (or re-sent whole). */
  readonly scheduledNewReqs: readonly NewRequestData[];
  /**
   * Requests the runner already knows, with their diffs. A scheduler that provides
   * {@link SchedulerOutput.cachedReqColumns} may build this array on first read (V1 does), so
   * runners read the columns instead, through {@link cachedRequestColumnsOf}.
   */
  readonly scheduledCachedReqs: readonly CachedRequestData[];
  /**
   * The same diffs as columns, in the same order, when the scheduler provides them (V1 does; V0
   * does not). Read them with {@link cachedRequestColumnsOf}, which falls back to
   * `scheduledCachedReqs`.
   */
  readonly cachedReqColumns?: CachedRequestColumns;
  /** Tokens to compute this step per request (drafts included). Iteration order = batch order. */
  readonly numScheduledTokens: ReadonlyMap<RequestId, number>;
  /** Sum of `numScheduledTokens`; never above the token budget. */
  readonly totalNumScheduledTokens: number;
  /** Draft tokens scheduled for verification, per request (absent = none). */
  readonly scheduledSpecDecodeTokens: ReadonlyMap<RequestId, readonly number[]>;
  /**
   * Requests finished (or aborted) since the previous step: the runner drops their state. Ids are
   * those the runner sees (child ids for V0 parallel sampling) and may include ids it never saw.
   */
  readonly finishedReqIds: ReadonlySet<RequestId>;
  /** Requests preempted in this step: the runner drops them from its batch until they resume. */
  readonly preemptedReqIds: ReadonlySet<RequestId>;
  /** V0 block moves (empty under V1). */
  readonly kvCacheOps: KVCacheOps;
}

const EMPTY_OPS: KVCacheOps = Object.freeze({ swapIn: [], swapOut: [], copy: [] });

/** No block moves: the shared, frozen value V1 steps use. */
export function emptyKVCacheOps(): KVCacheOps {
  return EMPTY_OPS;
}

/** A step that schedules nothing. */
export function makeEmptySchedulerOutput(): SchedulerOutput {
  return {
    scheduledNewReqs: [],
    scheduledCachedReqs: [],
    numScheduledTokens: new Map(),
    totalNumScheduledTokens: 0,
    scheduledSpecDecodeTokens: new Map(),
    finishedReqIds: new Set(),
    preemptedReqIds: new Set(),
    kvCacheOps: EMPTY_OPS,
  };
}
