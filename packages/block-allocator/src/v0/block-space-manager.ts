import { InvalidArgumentError, invariant, type BlockId, type RequestId } from '@vllm-ts/core';
import { BlockPool } from '../block-pool.js';
import { type AllocStatus, blocksTouched, watermarkStatus } from './alloc-status.js';
import { BlockTableError } from './block-table-error.js';
import { countHolders, moveTables, type SwapPool } from './swap-tables.js';
import type { BlockPair, BlockSpaceManagerOptions, SeqTable, V0Sequence } from './block-table.js';

/**
 * V0's block space manager (vLLM's `SelfAttnBlockSpaceManager` without prefix caching) on top of
 * a {@link BlockPool}: one block table per sequence, the free-block watermark for admission and
 * swap-in, fork with copy-on-write, and a CPU swap pool with swap-out/swap-in mappings.
 *
 * Invariants:
 * - a table covers `numSlots` token slots: the tokens whose KV is in the cache or computed this step;
 * - a device block's ref count is the number of table entries naming it (forked sequences share);
 * - a shared block is never written: appending into it first copies it (copy-on-write) and the
 *   writer takes the copy, so the last holder writes in place;
 * - a group swapped out keeps its sharing: each distinct block moves once, with all its holders.
 *
 * Shortfalls are return values (`AllocStatus`, false); misuse (an unknown or duplicate sequence,
 * a sequence on the wrong device) throws {@link BlockTableError}.
 */
export class BlockSpaceManager {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Blocks kept free by admission and swap-in. */
  readonly watermarkBlocks: number;
  /** The device pool. */
  protected readonly gpu: BlockPool;
  /** The CPU swap pool, or null when there is none. */
  protected readonly cpu: BlockPool | null;
  /** Every sequence's table. */
  protected readonly tables = new Map<RequestId, SeqTable>();

  /**
   * @param options sizes and watermark
   * @throws InvalidArgumentError (`invalid_option`) for a bad size or watermark
   */
  constructor(options: BlockSpaceManagerOptions) {
    const { blockSize, numGpuBlocks, numCpuBlocks = 0, watermark = 0.01 } = options;
    const opt = (f: string, exp: string, v: unknown) => new InvalidArgumentError('invalid_option', 'BlockSpaceManager', f, exp, v);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw opt('blockSize', 'an integer >= 1', blockSize);
    if (!Number.isInteger(numGpuBlocks) || numGpuBlocks < 2) throw opt('numGpuBlocks', 'an integer >= 2 (the null block included)', numGpuBlocks);
    if (!Number.isInteger(numCpuBlocks) || numCpuBlocks < 0) throw opt('numCpuBlocks', 'an integer >= 0', numCpuBlocks);
    if (typeof watermark !== 'number' || !(watermark >= 0 && watermark < 1)) throw opt('watermark', 'a number in [0, 1)', watermark);
    this.blockSize = blockSize;
    this.watermarkBlocks = Math.floor(watermark * numGpuBlocks);
    this.gpu = new BlockPool({ numBlocks: numGpuBlocks });
    this.cpu = numCpuBlocks >= 2 ? new BlockPool({ numBlocks: numCpuBlocks }) : null;
  }

  /** Device blocks, the null block included. */
  get numGpuBlocks(): number {
    return this.gpu.numBlocks;
  }

  /** CPU swap blocks, block 0 included (0 when there is no swap pool). */
  get numCpuBlocks(): number {
    return this.cpu?.numBlocks ?? 0;
  }

  /** Device blocks that can be handed out now. */
  get numFreeGpuBlocks(): number {
    return this.gpu.numFreeBlocks;
  }

  /** CPU blocks that can be handed out now. */
  get numFreeCpuBlocks(): number {
    return this.cpu?.numFreeBlocks ?? 0;
  }

  /** Fraction of usable device blocks held by sequences, in [0, 1]. */
  get gpuUsage(): number {
    return 1 - this.numFreeGpuBlocks / (this.gpu.numBlocks - 1);
  }

  /** Fraction of usable CPU blocks held by swapped sequences, in [0, 1] (0 without a pool). */
  get cpuUsage(): number {
    return this.cpu === null ? 0 : 1 - this.cpu.numFreeBlocks / (this.cpu.numBlocks - 1);
  }

  /**
   * Whether tables for all of `seqs` (each covering all its tokens) can be allocated now.
   * @param seqs the group's sequences waiting for blocks
   */
  canAllocate(seqs: readonly V0Sequence[]): AllocStatus {
    let required = 0;
    for (const seq of seqs) required += this.numBlocksToAllocate(seq);
    return watermarkStatus(required, this.numFreeGpuBlocks, this.gpu.numBlocks - 1, this.watermarkBlocks);
  }

  /**
   * Gives each sequence a device table covering all its tokens. All or nothing.
   * @param seqs sequences without a table
   * @returns false (nothing changes) when the pool is short
   * @throws BlockTableError (`duplicate_sequence`) when a sequence already has a table
   */
  allocate(seqs: readonly V0Sequence[]): boolean {
    let required = 0;
    for (const seq of seqs) {
      if (this.tables.has(seq.seqId)) throw new BlockTableError('duplicate_sequence', seq.seqId, `[block-allocator] sequence ${seq.seqId} already has a block table`);
      required += this.numBlocksToAllocate(seq);
    }
    if (required > this.numFreeGpuBlocks) return false;
    for (const seq of seqs) {
      const blocks = this.allocateTable(seq);
      invariant(blocks !== null, `allocating ${seq.seqId} failed after the free count said it fits`);
      this.tables.set(seq.seqId, { blocks, numSlots: seq.tokenIds.length, onCpu: false });
    }
    return true;
  }

  /**
   * Whether every sequence can take its unseen tokens plus `numLookaheadSlots`, counting every
   * touched block as a new one (a copy-on-write or a fresh block), as V0 does.
   * @param seqs running sequences with device tables
   * @param numLookaheadSlots extra slots per sequence
   */
  canAppendSlots(seqs: readonly V0Sequence[], numLookaheadSlots = 0): boolean {
    let touched = 0;
    for (const seq of seqs) {
      const t = this.tableOf(seq.seqId);
      touched += blocksTouched(t.numSlots, seq.tokenIds.length - t.numSlots + numLookaheadSlots, this.blockSize);
    }
    return touched <= this.numFreeGpuBlocks;
  }

  /**
   * Extends `seq`'s table to its tokens plus `numLookaheadSlots`; a shared block about to be written
   * is replaced by a fresh copy and the (source, destination) pair is pushed onto `copies`.
   * @param seq a running sequence with a device table
   * @param numLookaheadSlots extra slots (allocated, not counted as written)
   * @param copies receives copy-on-write pairs
   * @returns true when an existing entry of the table changed (the runner must reload the table),
   *   false when blocks were only appended; throws nothing on shortfall: call {@link canAppendSlots} first
   */
  appendSlots(seq: V0Sequence, numLookaheadSlots: number, copies: BlockPair[]): boolean {
    const t = this.tableOf(seq.seqId);
    if (t.onCpu) throw new BlockTableError('wrong_device', seq.seqId, `[block-allocator] sequence ${seq.seqId} is swapped out; swap it in before appending`);
    const numTokens = seq.tokenIds.length;
    let rewritten = false;
    if (numTokens > t.numSlots && t.numSlots % this.blockSize !== 0) {
      // The first new slot lands in a partly filled block: copy it first if anyone else holds it.
      const idx = Math.floor(t.numSlots / this.blockSize);
      const src = t.blocks[idx]!;
      if (this.gpu.refCount(src) > 1) {
        const fresh = this.allocateFresh(1);
        invariant(fresh !== null, 'copy-on-write found no free block after canAppendSlots said it fits');
        t.blocks[idx] = fresh[0]!;
        this.releaseBlocks([src]);
        copies.push([src, fresh[0]!]);
        rewritten = true;
      }
    }
    const needed = Math.ceil((Math.max(numTokens, t.numSlots) + numLookaheadSlots) / this.blockSize) - t.blocks.length;
    if (needed > 0) {
      const fresh = this.allocateFresh(needed);
      invariant(fresh !== null, 'appending found too few free blocks after canAppendSlots said it fits');
      for (const b of fresh) t.blocks.push(b);
    }
    const from = t.numSlots;
    t.numSlots = Math.max(t.numSlots, numTokens);
    if (this.onSlotsWritten(seq, t, from)) rewritten = true;
    return rewritten;
  }

  /**
   * Makes `child` share every block of `parent` (ref counts go up; nothing is copied until a write).
   * @param parent a sequence with a device table
   * @param child a sequence without a table
   * @throws BlockTableError (`duplicate_sequence` / `unknown_sequence` / `wrong_device`)
   */
  fork(parent: RequestId, child: RequestId): void {
    const t = this.tableOf(parent);
    if (t.onCpu) throw new BlockTableError('wrong_device', parent, `[block-allocator] cannot fork ${parent}: it is swapped out`);
    if (this.tables.has(child)) throw new BlockTableError('duplicate_sequence', child, `[block-allocator] sequence ${child} already has a block table`);
    this.gpu.touch(t.blocks);
    this.tables.set(child, { blocks: [...t.blocks], numSlots: t.numSlots, onCpu: false });
  }

  /**
   * Whether the CPU pool can take every distinct block of `seqIds`.
   * @param seqIds sequences with device tables (a whole group, so shared blocks move once)
   */
  canSwapOut(seqIds: readonly RequestId[]): boolean {
    return this.cpu !== null && countHolders(this.tablesOn(seqIds, false)).size <= this.cpu.numFreeBlocks;
  }

  /**
   * Moves the tables of `seqIds` to the CPU pool, each distinct block once.
   * @param seqIds sequences with device tables
   * @param mapping receives (device block, CPU block) pairs
   * @returns false (nothing changes) when the CPU pool is short or absent
   */
  swapOut(seqIds: readonly RequestId[], mapping: BlockPair[]): boolean {
    if (this.cpu === null || !this.canSwapOut(seqIds)) return false;
    moveTables(this.tablesOn(seqIds, false), this.pool(false), this.pool(true), mapping);
    return true;
  }

  /**
   * Whether swapped sequences can come back and then take their unseen tokens plus lookahead, keeping
   * the watermark free.
   * @param seqs a swapped group's sequences
   * @param numLookaheadSlots extra slots per sequence
   */
  canSwapIn(seqs: readonly V0Sequence[], numLookaheadSlots = 0): AllocStatus {
    let required = countHolders(this.tablesOn(seqs.map((s) => s.seqId), true)).size;
    for (const seq of seqs) {
      const t = this.tableOf(seq.seqId);
      required += blocksTouched(t.numSlots, seq.tokenIds.length - t.numSlots + numLookaheadSlots, this.blockSize);
    }
    return watermarkStatus(required, this.numFreeGpuBlocks, this.gpu.numBlocks - 1, this.watermarkBlocks);
  }

  /**
   * Moves the tables of `seqIds` back to the device, each distinct block once.
   * @param seqIds sequences with CPU tables
   * @param mapping receives (CPU block, device block) pairs
   * @returns false (nothing changes) when the device pool is short
   */
  swapIn(seqIds: readonly RequestId[], mapping: BlockPair[]): boolean {
    const tables = this.tablesOn(seqIds, true);
    if (countHolders(tables).size > this.numFreeGpuBlocks) return false;
    moveTables(tables, this.pool(true), this.pool(false), mapping);
    return true;
  }

  /**
   * Releases `seqId`'s table, tail first (so its deepest blocks are evicted first). Idempotent.
   * @param seqId any sequence id
   */
  free(seqId: RequestId): void {
    const t = this.tables.get(seqId);
    if (t === undefined) return;
    this.tables.delete(seqId);
    const ids = [...t.blocks].reverse();
    if (t.onCpu) this.cpu!.free(ids);
    else this.releaseBlocks(ids);
  }

  /**
   * True when `seqId` has a table (on either device).
   * @param seqId any sequence id
   */
  hasTable(seqId: RequestId): boolean {
    return this.tables.has(seqId);
  }

  /**
   * The sequence's block table (device or CPU ids, depending on where it is).
   * @param seqId a sequence with a table
   * @throws BlockTableError (`unknown_sequence`)
   */
  getBlockTable(seqId: RequestId): readonly BlockId[] {
    return this.tableOf(seqId).blocks;
  }

  /**
   * Leading tokens of `seq` a new table would find already cached and computed, without taking
   * anything (0 without prefix caching). Never the last token: it must run to produce logits.
   * @param seq a sequence about to be allocated
   */
  peekNumCachedTokens(seq: V0Sequence): number {
    void seq;
    return 0;
  }

  /**
   * Leading tokens of a freshly allocated sequence whose KV is already cached (0 without prefix caching).
   * @param seqId a sequence with a device table
   */
  getNumCachedTokens(seqId: RequestId): number {
    this.tableOf(seqId);
    return 0;
  }

  /**
   * Records a scheduled step: each sequence's blocks were accessed at `now`, and its blocks fully
   * covered by its computed tokens hold KV once the step has run. Prefix caching uses it for hits
   * (so sequences in the same batch never hit each other's blocks) and for LRU order; without
   * prefix caching there is nothing to record.
   * @param seqs (sequence id, computed tokens after the step) for every scheduled sequence
   * @param now seconds on the scheduler's clock
   */
  markScheduled(seqs: Iterable<readonly [RequestId, number]>, now: number): void {
    void seqs;
    void now;
  }

  /**
   * Forgets cached content; refused (false) while sequences hold blocks.
   * @returns true when nothing is held
   */
  resetPrefixCache(): boolean {
    return this.tables.size === 0 && this.gpu.resetPrefixCache();
  }

  /** Block-level prefix-cache hit rate in [0, 1], or -1 when prefix caching is off. */
  get prefixCacheHitRate(): number {
    return -1;
  }

  // --- hooks a caching subclass overrides ---

  /** Blocks `seq` needs for a new table. */
  protected numBlocksToAllocate(seq: V0Sequence): number {
    return Math.ceil(seq.tokenIds.length / this.blockSize);
  }

  /** A new device table for all of `seq`'s tokens, or null when short. */
  protected allocateTable(seq: V0Sequence): BlockId[] | null {
    return this.allocateFresh(Math.ceil(seq.tokenIds.length / this.blockSize));
  }

  /** `n` fresh, exclusively held device blocks, or null (nothing changes) when short. */
  protected allocateFresh(n: number): BlockId[] | null {
    return this.gpu.allocate(n);
  }

  /** Drops one holder of each device block, in the order given. */
  protected releaseBlocks(ids: readonly BlockId[]): void {
    this.gpu.free(ids);
  }

  /** Called after slots `[from, t.numSlots)` were written; returns true when it rewrote table entries. */
  protected onSlotsWritten(seq: V0Sequence, t: SeqTable, from: number): boolean {
    void seq;
    void t;
    void from;
    return false;
  }

  /**
   * The sequence's table.
   * @throws BlockTableError (`unknown_sequence`)
   */
  protected tableOf(seqId: RequestId): SeqTable {
    const t = this.tables.get(seqId);
    if (t === undefined) throw new BlockTableError('unknown_sequence', seqId, `[block-allocator] sequence ${seqId} has no block table`);
    return t;
  }

  private tablesOn(seqIds: readonly RequestId[], onCpu: boolean): SeqTable[] {
    return seqIds.map((id) => {
      const t = this.tableOf(id);
      if (t.onCpu !== onCpu) {
        throw new BlockTableError('wrong_device', id, `[block-allocator] sequence ${id} is on the ${t.onCpu ? 'CPU' : 'device'}, expected the ${onCpu ? 'CPU' : 'device'}`);
      }
      return t;
    });
  }

  private pool(onCpu: boolean): SwapPool {
    if (onCpu) {
      const cpu = this.cpu!;
      return { allocate: (n) => cpu.allocate(n), addHolders: (id, n) => cpu.touch(Array<BlockId>(n).fill(id)), release: (ids) => cpu.free(ids) };
    }
    return { allocate: (n) => this.allocateFresh(n), addHolders: (id, n) => this.gpu.touch(Array<BlockId>(n).fill(id)), release: (ids) => this.releaseBlocks(ids) };
  }
}
