import type { BlockHash, BlockId } from '@vllm-ts/core';
import { BlockError } from './block-error.js';
import { BlockHashTable } from './block-hash-table.js';
import { FreeBlockQueue } from './free-block-queue.js';

// Hash-table inserts held back at most (see BlockPool.pendingInserts).
const PENDING_INSERTS = 64;

/** Options of {@link BlockPool}. */
export interface BlockPoolOptions {
  /** Blocks in the pool, the null block included (so at least 2). */
  readonly numBlocks: number;
}

/**
 * A fixed pool of KV-cache blocks, created once: ref counts, the free queue (an O(1) LRU, see
 * {@link FreeBlockQueue}), the null block, and a hash slot per block with the hash -> block map
 * that prefix caching reads. It computes no hashes: callers hand them in.
 *
 * Invariants (checked by the tests after every step):
 * - block 0 is the null block: never allocated, freed, cached or queued; its ref count is unused;
 * - a block is in the free queue iff its ref count is 0, so
 *   `numFreeBlocks + (blocks with refCount > 0) + 1 === numBlocks`;
 * - a block has a hash iff it is in the hash map; free blocks keep their hash (they can still be
 *   hit) until they are handed out again, which evicts the hash.
 *
 * Eviction order is the free queue's: `allocate` takes blocks from its head, `free` appends at its
 * tail in the order given, `touch` takes a free block out of the middle. So the caller decides the
 * order: V1 frees a request's blocks tail first, so the blocks holding its longest prefixes go first.
 *
 * @example
 * ```ts
 * const pool = new BlockPool({ numBlocks: 8 });
 * const blocks = pool.allocate(3);          // [1, 2, 3]; null when fewer than 3 are free
 * pool.cacheBlock(blocks![0]!, hash);       // later lookups of `hash` find block 1
 * pool.free([...blocks!].reverse());       // free queue: 4..7, 3, 2, 1
 * pool.getCachedBlock(hash);               // 1 (still cached while free)
 * ```
 */
export class BlockPool {
  /** Blocks in the pool, the null block included. */
  readonly numBlocks: number;
  /** The null block (id 0): a placeholder that is never handed out. */
  readonly nullBlock: BlockId = 0 as BlockId;
  private readonly freeQueue: FreeBlockQueue;
  private readonly refCounts: Int32Array;
  private readonly hashes: (BlockHash | null)[];
  // One id per hash; equal blocks computed apart (block tables are append-only, so duplicates are
  // kept rather than merged) put their other ids in `duplicates`. Lookups return the primary.
  private readonly cached: BlockHashTable;
  private readonly duplicates = new Map<BlockHash, number[]>();
  private numCached = 0;
  // Blocks cached whose entries are not in `cached` / `duplicates` yet (their `hashes` slot is
  // set): inserts run in batches, so their cache misses (one each in a table larger than the CPU
  // caches) overlap instead of stalling the caller once per block. Every read of `cached` or
  // `duplicates` applies them first.
  private readonly pendingInserts = new Int32Array(PENDING_INSERTS);
  private numPendingInserts = 0;
  // Per pending insert: 0 when it became its hash's primary, else the primary it found.
  private readonly insertResults = new Int32Array(PENDING_INSERTS);

  /**
   * @param options the pool size
   * @throws BlockError (`invalid_block_count`) when `numBlocks` is not an integer >= 2
   */
  constructor(options: BlockPoolOptions) {
    const n = options.numBlocks;
    if (!Number.isInteger(n) || n < 2) {
      throw new BlockError('invalid_block_count', `[block-allocator] numBlocks must be an integer >= 2, the null block included (got ${n})`);
    }
    this.numBlocks = n;
    this.freeQueue = new FreeBlockQueue(n);
    this.freeQueue.remove(this.nullBlock);
    this.refCounts = new Int32Array(n);
    this.hashes = Array.from({ length: n }, () => null);
    this.cached = new BlockHashTable(n, this.hashes);
  }

  /** Blocks with no holder (cached-but-evictable ones included). */
  get numFreeBlocks(): number {
    return this.freeQueue.length;
  }

  /** Fraction of usable blocks (the null block excluded) held by someone, in [0, 1]. */
  get usage(): number {
    return 1 - this.freeQueue.length / (this.numBlocks - 1);
  }

  /** Blocks whose hash is in the map (held or free). */
  get numCachedBlocks(): number {
    return this.numCached;
  }

  /**
   * Holders of `id`.
   * @param id a block id
   * @throws BlockError (`unknown_block`) for an id outside the pool
   */
  refCount(id: BlockId): number {
    this.checkId(id);
    return this.refCounts[id]!;
  }

  /**
   * The hash stored in `id`'s slot, or null.
   * @param id a block id
   * @throws BlockError (`unknown_block`) for an id outside the pool
   */
  blockHash(id: BlockId): BlockHash | null {
    this.checkId(id);
    return this.hashes[id]!;
  }

  /**
   * True when `id` is in the free queue.
   * @param id a block id
   */
  isFree(id: BlockId): boolean {
    return this.freeQueue.has(id);
  }

  /**
   * Hands out `n` blocks from the head of the free queue, each with ref count 1; a block that
   * still carried a hash is evicted from the cache first.
   * @param n blocks wanted (>= 0)
   * @returns the blocks in the order taken, or null (and nothing changes) when fewer than `n` are free
   * @throws BlockError (`invalid_block_count`) when `n` is not a non-negative integer
   */
  allocate(n: number): BlockId[] | null {
    if (!Number.isInteger(n) || n < 0) {
      throw new BlockError('invalid_block_count', `[block-allocator] allocate(n) needs an integer n >= 0 (got ${n})`);
    }
    if (n > this.freeQueue.length) return null;
    const out: BlockId[] = [];
    this.freeQueue.popFrontN(n, out);
    for (let i = 0; i < n; i++) {
      const id = out[i]!;
      if (this.hashes[id] !== null) this.evict(id);
      this.refCounts[id] = 1;
    }
    return out;
  }

  /**
   * Adds a holder to each block: a prefix-cache hit or a fork sharing blocks. A free block is taken
   * out of the free queue (so it is not evicted) and keeps its hash. The null block is skipped.
   * @param ids blocks to take, in any order (repeats add one holder each)
   * @throws BlockError (`unknown_block`) for an id outside the pool
   */
  touch(ids: readonly BlockId[]): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id);
      if (id === this.nullBlock) continue;
      if (this.refCounts[id] === 0) this.freeQueue.remove(id);
      this.refCounts[id]!++;
    }
  }

  /**
   * Drops one holder from each block, in the order given; blocks left with no holder are appended
   * to the free queue's tail in that order (the first given is evicted first). Hashes are kept.
   * @param ids blocks to release (repeats drop one holder each)
   * @throws BlockError (`null_block` / `double_free` / `unknown_block`) naming the block; blocks
   *   before it in `ids` have been released
   */
  free(ids: readonly BlockId[]): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id);
      if (id === this.nullBlock) throw new BlockError('null_block', '[block-allocator] the null block (0) cannot be freed', id);
      const rc = this.refCounts[id]!;
      if (rc === 0) throw new BlockError('double_free', `[block-allocator] block ${id} is already free (ref count 0); double free`, id);
      this.refCounts[id] = rc - 1;
      if (rc === 1) this.freeQueue.append(id);
    }
  }

  /**
   * A block holding `hash`, or null. Free cached blocks are found too; `touch` them to keep them.
   * @param hash a block hash
   */
  getCachedBlock(hash: BlockHash): BlockId | null {
    if (this.numPendingInserts > 0) this.applyPendingInserts();
    const v = this.cached.get(hash);
    return v === 0 ? null : (v as BlockId);
  }

  /**
   * Records that `id` (held, full, its KV computed or being computed) holds the content `hash`.
   * Another block with the same hash may exist; both stay cached.
   * @param id a held block with an empty hash slot
   * @param hash its chained hash
   * @throws BlockError (`null_block` / `block_not_held` / `already_cached` / `unknown_block`)
   */
  cacheBlock(id: BlockId, hash: BlockHash): void {
    this.checkId(id);
    if (id === this.nullBlock) throw new BlockError('null_block', '[block-allocator] the null block (0) cannot be cached', id);
    if (this.refCounts[id] === 0) throw new BlockError('block_not_held', `[block-allocator] block ${id} is free; only held blocks can be cached`, id);
    if (this.hashes[id] !== null) {
      throw new BlockError('already_cached', `[block-allocator] block ${id} already holds hash ${this.hashes[id]}; cannot cache ${hash}`, id);
    }
    this.hashes[id] = hash;
    this.numCached++;
    this.pendingInserts[this.numPendingInserts++] = id;
    if (this.numPendingInserts === PENDING_INSERTS) this.applyPendingInserts();
  }

  // In the order cached, so the first block cached with a hash stays its primary.
  private applyPendingInserts(): void {
    const n = this.numPendingInserts;
    this.numPendingInserts = 0;
    const primaries = this.insertResults;
    this.cached.insertAllIfAbsent(this.pendingInserts, n, primaries);
    for (let i = 0; i < n; i++) {
      if (primaries[i] === 0) continue;
      const id = this.pendingInserts[i]!;
      const hash = this.hashes[id]!;
      const more = this.duplicates.get(hash);
      if (more === undefined) this.duplicates.set(hash, [id]);
      else more.push(id);
    }
  }

  /**
   * Forgets every cached hash, if no block is held.
   * @returns true when the cache was cleared; false (nothing changes) while any block is held
   */
  resetPrefixCache(): boolean {
    if (this.freeQueue.length !== this.numBlocks - 1) return false;
    this.numPendingInserts = 0;
    this.cached.clear();
    this.duplicates.clear();
    this.hashes.fill(null);
    this.numCached = 0;
    return true;
  }

  /** The free queue, head (next evicted) first. O(n); for tests and debugging. */
  freeBlockIds(): BlockId[] {
    return this.freeQueue.toArray();
  }

  private evict(id: number): void {
    if (this.numPendingInserts > 0) this.applyPendingInserts();
    const hash = this.hashes[id]!;
    // Fast path: no duplicates anywhere, so `id` is the hash's only block.
    if (this.duplicates.size === 0) this.cached.delete(hash);
    else {
      const more = this.duplicates.get(hash);
      if (more === undefined) this.cached.delete(hash);
      else {
        if (this.cached.get(hash) === id) this.cached.replace(hash, more.shift()!);
        else more.splice(more.indexOf(id), 1);
        if (more.length === 0) this.duplicates.delete(hash);
      }
    }
    this.hashes[id] = null;
    this.numCached--;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.numBlocks) {
      throw new BlockError('unknown_block', `[block-allocator] block id must be an integer in [0, ${this.numBlocks}) (got ${id})`, id);
    }
  }
}
