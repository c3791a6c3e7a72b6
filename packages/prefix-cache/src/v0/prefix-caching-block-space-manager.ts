import { BlockSpaceManager, type BlockPair, type BlockSpaceManagerOptions, type SeqTable, type V0Sequence } from '@vllm-ts/block-allocator';
import type { BlockHash, BlockId, RequestId } from '@vllm-ts/core';
import { BlockHasher, type HashAlgorithm } from '../block-hasher.js';
import { RequestBlockHasher } from '../request-block-hasher.js';
import { LruEvictor } from './lru-evictor.js';

/** Options of {@link PrefixCachingBlockSpaceManager}. */
export interface PrefixCachingBlockSpaceManagerOptions extends BlockSpaceManagerOptions {
  /** Block hash algorithm. Default `sha256`. */
  readonly hashAlgorithm?: HashAlgorithm;
  /** Seed of the hash chains (reproducible hashes); absent: random per manager. */
  readonly hashSeed?: string | null;
}

interface SeqHashes {
  readonly hasher: RequestBlockHasher;
  readonly hashes: BlockHash[];
}

/**
 * V0's prefix-caching block manager (vLLM's `PrefixCachingBlockAllocator` under the block space
 * manager): the V0 allocate/append/fork/swap/free of {@link BlockSpaceManager}, with full blocks
 * shared by content hash.
 *
 * - Allocating a sequence shares every full block whose hash is cached (a block-level query/hit for
 *   {@link prefixCacheHitRate}) and hashes the rest as they are handed out.
 * - A block that fills up while appending is hashed; if that content is already cached elsewhere,
 *   the sequence is pointed at the cached block and its own is released (V0's dedup on promotion,
 *   which rewrites the block table: `appendSlots` returns true).
 * - A cached block nobody holds goes to the {@link LruEvictor} (oldest access first, deeper blocks
 *   first among equals) and stays hittable; allocation takes never-cached free blocks first, then
 *   evicts. Free capacity counts both.
 * - Cached blocks count as hits for the token budget only once computed: after the step that fills
 *   them was scheduled (`markScheduled`), so sequences in one batch never hit each other's blocks.
 *
 * Pool accounting: an evictable block stays held in the `BlockPool` by the evictor (ref count
 * 1), so the pool's free queue only ever holds blocks without content.
 */
export class PrefixCachingBlockSpaceManager extends BlockSpaceManager {
  private readonly hasher: BlockHasher;
  private readonly evictor: LruEvictor;
  private readonly cached = new Map<BlockHash, BlockId>();
  private readonly hashOf: (BlockHash | null)[];
  private readonly depthOf: Float64Array;
  private readonly lastAccess: Float64Array;
  private readonly computed: Uint8Array;
  private readonly seqHashes = new WeakMap<V0Sequence, SeqHashes>();
  private readonly cachedTokens = new Map<RequestId, number>();
  // Per sequence: when it was last scheduled, and how many leading blocks were marked computed.
  private readonly seqState = new Map<RequestId, { lastAccess: number; numMarked: number }>();
  private now = 0;
  private queries = 0;
  private hits = 0;

  /**
   * @param options sizes, watermark and hashing
   * @throws InvalidArgumentError (`invalid_option`) for a bad size, watermark or algorithm
   */
  constructor(options: PrefixCachingBlockSpaceManagerOptions) {
    super(options);
    this.hasher = new BlockHasher({ algorithm: options.hashAlgorithm ?? 'sha256', hashSeed: options.hashSeed ?? null });
    const n = this.gpu.numBlocks;
    this.evictor = new LruEvictor(n);
    this.hashOf = Array.from({ length: n }, () => null);
    this.depthOf = new Float64Array(n);
    this.lastAccess = new Float64Array(n);
    this.computed = new Uint8Array(n);
  }

  /** Device blocks that can be handed out now: never-cached free blocks plus evictable cached ones. */
  override get numFreeGpuBlocks(): number {
    return this.gpu.numFreeBlocks + this.evictor.size;
  }

  /** Block-level hit rate of allocations so far, in [0, 1] (0 before any query). */
  override get prefixCacheHitRate(): number {
    return this.queries === 0 ? 0 : this.hits / this.queries;
  }

  /** Cached blocks nobody holds, in eviction order. For tests and debugging. */
  evictableBlockIds(): BlockId[] {
    return this.evictor.toArray();
  }

  /**
   * The content hash cached in block `id`, or null.
   * @param id a device block id
   */
  cachedHash(id: BlockId): BlockHash | null {
    return this.hashOf[id] ?? null;
  }

  override peekNumCachedTokens(seq: V0Sequence): number {
    const hashes = this.hashesOf(seq);
    const limit = Math.min(hashes.length, Math.floor((seq.tokenIds.length - 1) / this.blockSize));
    let n = 0;
    while (n < limit) {
      const b = this.cached.get(hashes[n]!);
      if (b === undefined || this.computed[b] === 0) break;
      n++;
    }
    return n * this.blockSize;
  }

  override getNumCachedTokens(seqId: RequestId): number {
    this.tableOf(seqId);
    return this.cachedTokens.get(seqId) ?? 0;
  }

  override markScheduled(seqs: Iterable<readonly [RequestId, number]>, now: number): void {
    this.now = now;
    for (const [id, numComputed] of seqs) {
      const t = this.tableOf(id);
      let st = this.seqState.get(id);
      if (st === undefined) this.seqState.set(id, (st = { lastAccess: now, numMarked: 0 }));
      st.lastAccess = now;
      // Only blocks newly covered by computed tokens change state: O(new blocks) per sequence.
      const full = Math.min(Math.floor(numComputed / this.blockSize), t.blocks.length);
      for (let i = st.numMarked; i < full; i++) {
        const b = t.blocks[i]!;
        if (this.hashOf[b] !== null) this.computed[b] = 1;
      }
      st.numMarked = Math.max(st.numMarked, full);
    }
  }

  override free(seqId: RequestId): void {
    const t = this.tables.get(seqId);
    if (t !== undefined && !t.onCpu) this.stampAccess(seqId, t);
    this.cachedTokens.delete(seqId);
    this.seqState.delete(seqId);
    super.free(seqId);
  }

  override swapOut(seqIds: readonly RequestId[], mapping: BlockPair[]): boolean {
    if (!this.canSwapOut(seqIds)) return false;
    for (const id of seqIds) {
      this.stampAccess(id, this.tableOf(id));
      this.seqState.delete(id);
    }
    return super.swapOut(seqIds, mapping);
  }

  override resetPrefixCache(): boolean {
    if (this.tables.size > 0) return false;
    const ids: BlockId[] = [];
    for (let b = this.evictor.evict(); b !== null; b = this.evictor.evict()) ids.push(b);
    for (const b of ids) this.uncache(b);
    this.gpu.free(ids);
    return true;
  }

  protected override numBlocksToAllocate(seq: V0Sequence): number {
    // Hits on blocks someone already holds cost nothing; evictable hits still use a free slot.
    const hashes = this.hashesOf(seq);
    let shared = 0;
    for (const h of hashes) {
      const b = this.cached.get(h);
      if (b === undefined) break;
      if (!this.evictor.has(b)) shared++;
    }
    return Math.ceil(seq.tokenIds.length / this.blockSize) - shared;
  }

  protected override allocateTable(seq: V0Sequence): BlockId[] | null {
    if (this.numBlocksToAllocate(seq) > this.numFreeGpuBlocks) return null;
    const hashes = this.hashesOf(seq);
    const blocks: BlockId[] = [];
    let hitRun = true;
    let computedRun = 0;
    for (let i = 0; i < hashes.length; i++) {
      const h = hashes[i]!;
      const hit = this.cached.get(h);
      this.queries++;
      if (hit !== undefined) {
        this.hits++;
        this.take(hit);
        blocks.push(hit);
        if (hitRun && this.computed[hit] === 1) computedRun++;
        else hitRun = false;
        continue;
      }
      hitRun = false;
      const b = this.allocateFresh(1)![0]!;
      this.register(b, h, (i + 1) * this.blockSize);
      blocks.push(b);
    }
    if (blocks.length * this.blockSize < seq.tokenIds.length) blocks.push(this.allocateFresh(1)![0]!);
    const maxHit = Math.floor((seq.tokenIds.length - 1) / this.blockSize);
    this.cachedTokens.set(seq.seqId, Math.min(computedRun, maxHit) * this.blockSize);
    return blocks;
  }

  protected override allocateFresh(n: number): BlockId[] | null {
    if (n > this.numFreeGpuBlocks) return null;
    const fromPool = Math.min(n, this.gpu.numFreeBlocks);
    const out = this.gpu.allocate(fromPool)!;
    while (out.length < n) {
      // The evicted block stays held by the pool (the evictor's hold passes to the caller).
      const b = this.evictor.evict()!;
      this.uncache(b);
      out.push(b);
    }
    return out;
  }

  protected override releaseBlocks(ids: readonly BlockId[]): void {
    const toPool: BlockId[] = [];
    for (const b of ids) {
      if (this.gpu.refCount(b) === 1 && this.hashOf[b] !== null) this.evictor.add(b, this.lastAccess[b]!, this.depthOf[b]!);
      else toPool.push(b);
    }
    this.gpu.free(toPool);
  }

  protected override onSlotsWritten(seq: V0Sequence, t: SeqTable, from: number): boolean {
    const bs = this.blockSize;
    const first = Math.floor(from / bs);
    const last = Math.floor(t.numSlots / bs);
    if (last <= first) return false;
    const hashes = this.hashesOf(seq);
    let rewritten = false;
    for (let i = first; i < last && i < hashes.length; i++) {
      const b = t.blocks[i]!;
      if (this.hashOf[b] !== null) continue;
      const h = hashes[i]!;
      const existing = this.cached.get(h);
      if (existing === undefined) {
        this.register(b, h, (i + 1) * bs);
        continue;
      }
      this.take(existing);
      t.blocks[i] = existing;
      this.releaseBlocks([b]);
      rewritten = true;
    }
    return rewritten;
  }

  /** A block's access time is the last schedule of any sequence that held it. */
  private stampAccess(seqId: RequestId, t: SeqTable): void {
    const st = this.seqState.get(seqId);
    if (st === undefined) return;
    for (const b of t.blocks) this.lastAccess[b] = Math.max(this.lastAccess[b]!, st.lastAccess);
  }

  private hashesOf(seq: V0Sequence): BlockHash[] {
    let s = this.seqHashes.get(seq);
    if (s === undefined) {
      s = { hasher: new RequestBlockHasher(this.hasher, this.blockSize, { cacheSalt: seq.cacheSalt ?? null, loraName: seq.loraName ?? null }), hashes: [] };
      this.seqHashes.set(seq, s);
    }
    s.hasher.extend(seq.tokenIds, s.hashes);
    return s.hashes;
  }

  /** Adds a holder to cached block `b`, reviving it from the evictor. */
  private take(b: BlockId): void {
    if (this.evictor.has(b)) this.evictor.remove(b);
    else this.gpu.touch([b]);
  }

  private register(b: BlockId, h: BlockHash, depth: number): void {
    this.cached.set(h, b);
    this.hashOf[b] = h;
    this.depthOf[b] = depth;
    this.lastAccess[b] = this.now;
    this.computed[b] = 0;
  }

  private uncache(b: BlockId): void {
    const h = this.hashOf[b];
    if (h == null) return;
    this.cached.delete(h);
    this.hashOf[b] = null;
    this.computed[b] = 0;
  }
}
