import { BlockPool } from '@vllm-ts/block-allocator';
import {
  InvalidArgumentError,
  invariant,
  type AllocateSlotsOptions,
  type BlockHash,
  type BlockId,
  type ComputedBlocks,
  type KVCacheBlocks,
  type KVCacheManager as KVCacheManagerContract,
  type KVCacheRequest,
  type PrefixCacheStats,
  type RequestId,
} from '@vllm-ts/core';
import { BlockList } from './kv-cache-blocks.js';

/** Options of {@link KVCacheManager}. */
export interface KVCacheManagerOptions {
  /** Blocks in the pool, the null block included (>= 2). */
  readonly numBlocks: number;
  /** Tokens per block (>= 1). */
  readonly blockSize: number;
  /** No request holds slots past this many tokens. */
  readonly maxModelLen: number;
  /** Reuse cached blocks across requests (default true). */
  readonly enablePrefixCaching?: boolean;
}

/**
 * Optional for requests: a field the manager may use to remember where the request's state is,
 * which saves a map lookup per call (the scheduler calls `allocateSlots` for every running request
 * every step). A request object that declares it (initialised to null) gets the fast path; the
 * value is opaque and belongs to the manager.
 */
export interface KVCacheStateHolder {
  /** Opaque to everyone but the manager that set it. */
  kvCacheState: unknown;
}

/**
 * Optional for requests: the length and the last entry of `blockHashes` as plain fields, kept
 * equal to them. A request that declares them lets the manager cache the block a decode just
 * filled without reading the `blockHashes` array (its object and its elements: cache misses at a
 * thousand running requests), so the request may append to that array lazily.
 */
export interface BlockHashTail {
  /** `blockHashes.length`. */
  readonly numBlockHashes: number;
  /** `blockHashes[numBlockHashes - 1]`, or null when there is none. */
  readonly lastBlockHash: BlockHash | null;
}

class RequestBlocks {
  // Append-only block table (NOTE: never rewritten, so the runner can append diffs), less the
  // blocks still pending in the manager's columns: read it through `blocksOf(slot)`.
  readonly blocks: BlockId[] = [];
  constructor(
    readonly reqId: RequestId,
    // Index of this request's entries in the manager's slot columns.
    readonly slot: number,
  ) {}
}

const NO_BLOCKS: readonly BlockId[] = Object.freeze([]);
// Blocks a slot may hold back from its table (see the slot columns).
const PENDING = 16;
const EMPTY_HIT: ComputedBlocks = Object.freeze({ blocks: BlockList.EMPTY, numHitTokens: 0 });

/**
 * The V1 KV-cache manager for one full-attention group: block tables per request over a
 * {@link BlockPool}, with prefix caching.
 *
 * - A hit is the longest run of leading full blocks whose chained hash is cached; the last token
 *   is never a hit (one token must run to produce logits), so a fully cached prompt of k blocks
 *   hits k - 1 of them when its length is a multiple of the block size.
 * - Blocks are cached when allocated, up to `request.numTokens` (never draft or lookahead slots),
 *   before their KV is written: requests later in the same step may hit them, since each layer
 *   writes its KV before attending.
 * - `free` releases a request's blocks tail first; eviction takes the free queue's head, and a hit
 *   takes its block out of the queue, so eviction is least-recently-freed first (an LRU).
 *
 * @example
 * ```ts
 * const kv = new KVCacheManager({ numBlocks: 1024, blockSize: 16, maxModelLen: 4096 });
 * const hit = kv.getComputedBlocks(request);
 * const blocks = kv.allocateSlots(request, request.numTokens - hit.numHitTokens, {
 *   newComputedBlocks: hit.blocks, numNewComputedTokens: hit.numHitTokens,
 * });
 * if (blocks === null) { ... } // not enough memory; nothing changed
 * kv.free(request);
 * ```
 */
export class KVCacheManager implements KVCacheManagerContract {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Blocks in the pool, the null block included. */
  readonly numBlocks: number;
  /** Longest sequence, in tokens. */
  readonly maxModelLen: number;
  /** True when cached blocks are reused. */
  readonly enablePrefixCaching: boolean;
  /** The underlying pool (read it for ref counts and the free queue; do not mutate it). */
  readonly pool: BlockPool;
  private readonly requests = new Map<RequestId, RequestBlocks>();
  // Per-request columns by slot (a dense integer per live request), so the common call, a running
  // request that needs nothing new, reads two integers instead of the request's block table.
  // Invariant: slotRequest[s] !== null iff slotState[s] is a live request's state;
  // slotNumBlocks[s] === slotState[s].blocks.length + slotNumPending[s]; the first slotNumCached[s] blocks are cached;
  // slotNextUncached[s] is blocks[slotNumCached[s]] (0 when every block is cached) and
  // slotLastBlock[s] the table's last block (0 when empty), so caching the block a decode just
  // filled reads no block table. The table's last slotNumPending[s] blocks are in
  // pending[s * PENDING ..] rather than in slotState[s].blocks: a decode's new block is appended to
  // the table (a few cache misses: state, array, elements) once per PENDING + 1 blocks.
  private slotRequest: (KVCacheRequest | null)[] = [];
  private slotState: (RequestBlocks | null)[] = [];
  private slotNumBlocks = new Int32Array(64);
  private slotNumCached = new Int32Array(64);
  private slotNextUncached = new Int32Array(64);
  private slotLastBlock = new Int32Array(64);
  private slotNumPending = new Int32Array(64);
  private pending = new Int32Array(64 * PENDING);
  private readonly freeSlots: number[] = [];
  private queries = 0;
  private hits = 0;
  private preemptedQueries = 0;
  private preemptedHits = 0;
  private resets = 0;

  /**
   * @param options pool size, block size, max model length, caching switch
   * @throws InvalidArgumentError (`invalid_option`) naming the bad option
   */
  constructor(options: KVCacheManagerOptions) {
    const { numBlocks, blockSize, maxModelLen } = options;
    positiveInt('numBlocks', numBlocks, 2);
    positiveInt('blockSize', blockSize, 1);
    positiveInt('maxModelLen', maxModelLen, 1);
    this.blockSize = blockSize;
    this.numBlocks = numBlocks;
    this.maxModelLen = maxModelLen;
    this.enablePrefixCaching = options.enablePrefixCaching ?? true;
    this.pool = new BlockPool({ numBlocks });
  }

  /** Blocks not held by any request (cached-but-evictable ones included). */
  get numFreeBlocks(): number {
    return this.pool.numFreeBlocks;
  }

  /** Fraction of usable blocks held by requests, in [0, 1]. */
  get usage(): number {
    return this.pool.usage;
  }

  /** Cumulative prefix-cache counters, in tokens (a fresh snapshot each read). */
  get prefixCacheStats(): PrefixCacheStats {
    const { queries, hits, preemptedQueries, preemptedHits, resets } = this;
    return { queries, hits, preemptedQueries, preemptedHits, resets };
  }

  /**
   * Longest run of leading full blocks of `request` already cached; the last token is never a hit.
   * Neither reserves nor touches blocks; counts the lookup in the stats (apart when the request was
   * preempted before).
   * @param request the request (its `blockHashes` current)
   * @returns the hit blocks and `numHitTokens = blocks.length * blockSize`
   */
  getComputedBlocks(request: KVCacheRequest): ComputedBlocks {
    if (!this.enablePrefixCaching || request.skipReadingPrefixCache) return EMPTY_HIT;
    const maxBlocks = Math.min(Math.floor((request.numTokens - 1) / this.blockSize), request.blockHashes.length);
    const hit: BlockId[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const id = this.pool.getCachedBlock(request.blockHashes[i]!);
      if (id === null) break;
      hit.push(id);
    }
    const numHitTokens = hit.length * this.blockSize;
    if (request.numPreemptions > 0) {
      this.preemptedQueries += request.numTokens;
      this.preemptedHits += numHitTokens;
    } else {
      this.queries += request.numTokens;
      this.hits += numHitTokens;
    }
    return hit.length === 0 ? EMPTY_HIT : { blocks: new BlockList(hit), numHitTokens };
  }

  /**
   * Makes room for `numNewTokens` more tokens after `request.numComputedTokens` (plus the prefix
   * hits and lookahead slots) and takes the hit blocks. Slots past `maxModelLen` are not allocated.
   * @param request the request
   * @param numNewTokens tokens to compute this step, drafts included (>= 1)
   * @param options prefix hits from {@link getComputedBlocks} (waiting requests only) and lookahead
   * @returns the newly allocated blocks (hits excluded), or null, with nothing changed, when the
   *   pool is short
   * @throws InvalidArgumentError (`invalid_argument`) for a non-positive `numNewTokens`
   */
  allocateSlots(request: KVCacheRequest, numNewTokens: number, options?: AllocateSlotsOptions): KVCacheBlocks | null {
    // Kept small so it inlines into the caller's loop: the running-request case goes straight on.
    if (!Number.isInteger(numNewTokens) || numNewTokens < 1) badNumNewTokens(numNewTokens);
    if (options === undefined) {
      const slot = this.slotOf(request);
      if (slot >= 0) {
        // The usual decode step stays within the limit: extend would return EMPTY having changed
        // nothing (kept here, small, so it inlines).
        if (request.numComputedTokens + numNewTokens <= this.limitAt(slot)) return BlockList.EMPTY;
        return this.extend(request, slot, numNewTokens);
      }
    }
    return this.allocateWithOptions(request, numNewTokens, options);
  }

  /**
   * How far the request may compute with `allocateSlots` changing nothing: for any step with
   * `numComputedTokens + numNewTokens <= limit` (no hits, no lookahead) it returns an empty list and
   * leaves every block and count as it was (the slots are held, and no block up to there fills).
   * The limit only grows while the request holds its blocks (its blocks and cached blocks are never
   * taken back before `free`), so a scheduler may keep it and skip the call for the usual decode
   * step until `numComputedTokens + 1` passes it.
   * @param request a request
   * @returns the limit in tokens, or -1 when the request holds no blocks here
   */
  decodeLimit(request: KVCacheRequest): number {
    const slot = this.slotOf(request);
    return slot < 0 ? -1 : this.limitAt(slot);
  }

  // decodeLimit of the request in `slot`: within the slots held and the model length, and, with
  // caching, below the end of the first uncached block (cacheBlocks caches up to min(need,
  // numTokens), so a need below that end caches nothing).
  private limitAt(slot: number): number {
    const bs = this.blockSize;
    const held = this.slotNumBlocks[slot]! * bs;
    const limit = held < this.maxModelLen ? held : this.maxModelLen;
    if (!this.enablePrefixCaching) return limit;
    const beforeNextFull = (this.slotNumCached[slot]! + 1) * bs - 1;
    return limit < beforeNextFull ? limit : beforeNextFull;
  }

  // A request without state yet, or with prefix hits or lookahead slots.
  private allocateWithOptions(request: KVCacheRequest, numNewTokens: number, options: AllocateSlotsOptions | undefined): KVCacheBlocks | null {
    let state = this.stateOf(request);
    const hitIds = options?.newComputedBlocks?.getBlockIds() ?? NO_BLOCKS;
    const numNewComputed = options?.numNewComputedTokens ?? 0;
    const lookahead = options?.numLookaheadTokens ?? 0;
    const held = state === undefined ? 0 : this.blocksOf(state.slot).length;
    if (hitIds.length > 0 && held > 0) invariant(false, `prefix hits offered to ${request.reqId}, which already holds ${held} blocks`);

    const totalComputed = Math.min(request.numComputedTokens + numNewComputed, this.maxModelLen);
    const needSlots = Math.min(totalComputed + numNewTokens + lookahead, this.maxModelLen);
    const required = Math.ceil(needSlots / this.blockSize);
    const numNew = Math.max(required - held - hitIds.length, 0);
    let numRevived = 0;
    for (let i = 0; i < hitIds.length; i++) if (this.pool.isFree(hitIds[i]!)) numRevived++;
    if (numNew + numRevived > this.pool.numFreeBlocks) return null;

    if (state === undefined) state = this.newState(request);
    if (hitIds.length > 0) {
      this.pool.touch(hitIds);
      for (let i = 0; i < hitIds.length; i++) state.blocks.push(hitIds[i]!);
      this.slotNumCached[state.slot] = hitIds.length;
    }
    let result: KVCacheBlocks = BlockList.EMPTY;
    if (numNew > 0) {
      const fresh = this.pool.allocate(numNew);
      invariant(fresh !== null, 'the pool had the blocks it reported free');
      for (let i = 0; i < fresh.length; i++) state.blocks.push(fresh[i]!);
      result = new BlockList(fresh);
    }
    const slot = state.slot;
    const blocks = state.blocks;
    this.slotNumBlocks[slot] = blocks.length;
    this.slotLastBlock[slot] = blocks.length === 0 ? 0 : blocks[blocks.length - 1]!;
    const numCached = this.slotNumCached[slot]!;
    this.slotNextUncached[slot] = numCached < blocks.length ? blocks[numCached]! : 0;
    if (this.enablePrefixCaching) this.cacheBlocks(request, slot, Math.min(totalComputed + numNewTokens, request.numTokens));
    return result;
  }

  /**
   * Releases every block of the request, tail first, so its longest-prefix blocks are evicted
   * first. Idempotent: an unknown request is ignored.
   * @param request the request
   */
  free(request: KVCacheRequest): void {
    const state = this.stateOf(request);
    if (state === undefined) return;
    this.requests.delete(request.reqId);
    const slot = state.slot;
    const blocks = this.blocksOf(slot);
    this.slotRequest[slot] = null;
    this.slotState[slot] = null;
    this.slotNumBlocks[slot] = 0;
    this.slotNumCached[slot] = 0;
    this.slotNextUncached[slot] = 0;
    this.slotLastBlock[slot] = 0;
    this.freeSlots.push(slot);
    if ('kvCacheState' in request) (request as unknown as KVCacheStateHolder).kvCacheState = null;
    this.pool.free(blocks.reverse());
  }

  /**
   * The request's block table (empty when it holds none).
   * @param reqId the request's id
   */
  getBlockIds(reqId: RequestId): readonly BlockId[] {
    const state = this.requests.get(reqId);
    return state === undefined ? [] : this.blocksOf(state.slot);
  }

  /**
   * Number of leading blocks of the request's table that are in the hash map.
   * @param reqId the request's id
   */
  getNumCachedBlocks(reqId: RequestId): number {
    const state = this.requests.get(reqId);
    return state === undefined ? 0 : this.slotNumCached[state.slot]!;
  }

  /**
   * Forgets every cached hash.
   * @returns true on success; false, with nothing changed, while any request holds blocks
   */
  resetPrefixCache(): boolean {
    if (!this.pool.resetPrefixCache()) return false;
    this.resets++;
    return true;
  }

  // The holder field's slot when this manager's slot holds this very request object; else -1.
  private slotOf(request: KVCacheRequest): number {
    const slot = (request as Partial<KVCacheStateHolder>).kvCacheState;
    if (typeof slot === 'number' && this.slotRequest[slot] === request) return slot;
    const state = this.requests.get(request.reqId);
    return state === undefined ? -1 : state.slot;
  }

  // The slot's whole block table, its pending blocks moved in first.
  private blocksOf(slot: number): BlockId[] {
    const blocks = this.slotState[slot]!.blocks;
    const numPending = this.slotNumPending[slot]!;
    if (numPending > 0) {
      const at = slot * PENDING;
      for (let i = 0; i < numPending; i++) blocks.push(this.pending[at + i]! as BlockId);
      this.slotNumPending[slot] = 0;
    }
    return blocks;
  }

  private stateOf(request: KVCacheRequest): RequestBlocks | undefined {
    const slot = (request as Partial<KVCacheStateHolder>).kvCacheState;
    if (typeof slot === 'number' && this.slotRequest[slot] === request) return this.slotState[slot]!;
    return this.requests.get(request.reqId);
  }

  private newState(request: KVCacheRequest): RequestBlocks {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotRequest.length;
      if (slot === this.slotNumBlocks.length) {
        this.slotNumBlocks = grown(this.slotNumBlocks);
        this.slotNumCached = grown(this.slotNumCached);
        this.slotNextUncached = grown(this.slotNextUncached);
        this.slotLastBlock = grown(this.slotLastBlock);
        this.slotNumPending = grown(this.slotNumPending);
        this.pending = grown(this.pending);
      }
      this.slotRequest.push(null);
      this.slotState.push(null);
    }
    const state = new RequestBlocks(request.reqId, slot);
    this.requests.set(request.reqId, state);
    this.slotRequest[slot] = request;
    this.slotState[slot] = state;
    if ('kvCacheState' in request) (request as unknown as KVCacheStateHolder).kvCacheState = slot;
    return state;
  }

  // The common case, a running request with no hits and no lookahead: integer math on the slot's
  // columns; the block table is touched only when a block is added or filled.
  private extend(request: KVCacheRequest, slot: number, numNewTokens: number): KVCacheBlocks | null {
    const bs = this.blockSize;
    const computedAfter = request.numComputedTokens + numNewTokens;
    const needSlots = computedAfter < this.maxModelLen ? computedAfter : this.maxModelLen;
    const heldSlots = this.slotNumBlocks[slot]! * bs;
    let result: KVCacheBlocks = BlockList.EMPTY;
    if (needSlots > heldSlots) {
      const fresh = this.pool.allocate(Math.ceil((needSlots - heldSlots) / bs));
      if (fresh === null) return null;
      const held = this.slotNumBlocks[slot]!;
      if (this.slotNumCached[slot] === held) this.slotNextUncached[slot] = fresh[0]!;
      const numPending = this.slotNumPending[slot]!;
      if (numPending + fresh.length <= PENDING) {
        const at = slot * PENDING + numPending;
        for (let i = 0; i < fresh.length; i++) this.pending[at + i] = fresh[i]!;
        this.slotNumPending[slot] = numPending + fresh.length;
      } else {
        const blocks = this.blocksOf(slot);
        for (let i = 0; i < fresh.length; i++) blocks.push(fresh[i]!);
      }
      this.slotNumBlocks[slot] = held + fresh.length;
      this.slotLastBlock[slot] = fresh[fresh.length - 1]!;
      result = new BlockList(fresh);
    }
    if (this.enablePrefixCaching) {
      const numTokens = request.numTokens;
      const cacheUpTo = needSlots < numTokens ? needSlots : numTokens;
      if (cacheUpTo >= (this.slotNumCached[slot]! + 1) * bs) this.cacheBlocks(request, slot, cacheUpTo);
    }
    return result;
  }

  private cacheBlocks(request: KVCacheRequest, slot: number, numTokens: number): void {
    const numFull = Math.floor(numTokens / this.blockSize);
    const numCached = this.slotNumCached[slot]!;
    if (numFull <= numCached) return;
    const numBlocks = this.slotNumBlocks[slot]!;
    if (numFull === numCached + 1 && (request as Partial<BlockHashTail>).numBlockHashes === numFull) {
      // A decode filled the block whose hash the request just computed: no read of its hash list.
      this.pool.cacheBlock(this.slotNextUncached[slot]! as BlockId, (request as unknown as BlockHashTail).lastBlockHash!);
      this.slotNextUncached[slot] = numFull === numBlocks ? 0 : numFull === numBlocks - 1 ? this.slotLastBlock[slot]! : this.blocksOf(slot)[numFull]!;
      this.slotNumCached[slot] = numFull;
      return;
    }
    const hashes = request.blockHashes;
    if (hashes.length < numFull) {
      invariant(false, `request ${request.reqId} has ${hashes.length} block hashes but ${numFull} full blocks to cache`);
    }
    if (numFull === numCached + 1) {
      // One block filled (a decode): its id and the next one come from the columns when they can.
      this.pool.cacheBlock(this.slotNextUncached[slot]! as BlockId, hashes[numCached]!);
      this.slotNextUncached[slot] = numFull === numBlocks ? 0 : numFull === numBlocks - 1 ? this.slotLastBlock[slot]! : this.blocksOf(slot)[numFull]!;
    } else {
      const blocks = this.blocksOf(slot);
      for (let i = numCached; i < numFull; i++) this.pool.cacheBlock(blocks[i]!, hashes[i]!);
      this.slotNextUncached[slot] = numFull < numBlocks ? blocks[numFull]! : 0;
    }
    this.slotNumCached[slot] = numFull;
  }
}

// NOTE: every column grows 2x together (pending is PENDING wide per slot, so it stays aligned).
function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(2 * a.length);
  b.set(a);
  return b;
}

function badNumNewTokens(value: number): never {
  throw new InvalidArgumentError('invalid_argument', 'KVCacheManager.allocateSlots', 'numNewTokens', 'an integer >= 1', value);
}

function positiveInt(field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError('invalid_option', 'KVCacheManager', field, `an integer >= ${min}`, value);
  }
}
