import type { BlockId, RequestId } from '@vllm-ts/core';

/**
 * What the driver hands a V0 block manager as a sequence: its id and its tokens so far. The driver
 * passes the same object on every call for one sequence (a caching manager may key state by it)
 * and replaces `tokenIds` when the sequence grows.
 */
export interface DrivenSequence {
  /** The sequence's id. */
  readonly seqId: RequestId;
  /** Prompt + appended token ids. */
  readonly tokenIds: readonly number[];
}

/** A (source, destination) block pair: a copy-on-write copy or a swap move. */
export type DrivenBlockPair = [BlockId, BlockId];

/** Admission verdict of a V0 block manager: fits now, fits once blocks free up, or never fits. */
export type DrivenAllocStatus = 'ok' | 'later' | 'never';

/**
 * The ref-count view of one block pool the checks read (`BlockPool` satisfies it).
 */
export interface DrivenBlockPool {
  /**
   * Holders of block `id` (0 when free).
   * @param id a block id of this pool
   */
  refCount(id: BlockId): number;
  /**
   * True when block `id` can be handed out.
   * @param id a block id of this pool
   */
  isFree(id: BlockId): boolean;
}

/**
 * The methods of a V0 block space manager the driver calls, declared structurally so this package
 * depends on neither `block-allocator` nor `prefix-cache` (both satisfy it). Semantics are those of
 * `BlockSpaceManager`: shortfalls return `false` / a status and change nothing; misuse throws an
 * error whose `code` is `duplicate_sequence`, `wrong_device` or `unknown_sequence`, changing nothing.
 */
export interface DrivenV0BlockManager {
  /** Device blocks that can be handed out now (a prefix cache counts its evictable blocks). */
  readonly numFreeGpuBlocks: number;
  /** CPU blocks that can be handed out now. */
  readonly numFreeCpuBlocks: number;
  /**
   * Whether tables for `seqs` fit now.
   * @param seqs sequences without tables
   */
  canAllocate(seqs: readonly DrivenSequence[]): DrivenAllocStatus;
  /**
   * Gives each sequence a device table covering its tokens, all or nothing.
   * @param seqs sequences without tables
   */
  allocate(seqs: readonly DrivenSequence[]): boolean;
  /**
   * Leading tokens a new table for `seq` would find cached and computed.
   * @param seq a sequence without a table
   */
  peekNumCachedTokens(seq: DrivenSequence): number;
  /**
   * Leading tokens of a freshly allocated sequence whose KV is already in the cache.
   * @param seqId a sequence with a device table
   */
  getNumCachedTokens(seqId: RequestId): number;
  /**
   * Whether every sequence can take its unseen tokens.
   * @param seqs sequences with device tables, `tokenIds` already grown
   */
  canAppendSlots(seqs: readonly DrivenSequence[]): boolean;
  /**
   * Extends `seq`'s table to its tokens; copy-on-write pairs go onto `copies`.
   * @param seq a sequence with a device table
   * @param numLookaheadSlots extra slots (the driver passes 0)
   * @param copies receives (source, destination) pairs
   * @returns true when an existing entry of the table changed
   */
  appendSlots(seq: DrivenSequence, numLookaheadSlots: number, copies: DrivenBlockPair[]): boolean;
  /**
   * Makes `child` share every block of `parent`.
   * @param parent a sequence with a device table
   * @param child a sequence without a table
   */
  fork(parent: RequestId, child: RequestId): void;
  /**
   * Whether the CPU pool can take every distinct block of `seqIds`.
   * @param seqIds a group's sequences, on the device
   */
  canSwapOut(seqIds: readonly RequestId[]): boolean;
  /**
   * Moves a group's tables to the CPU pool.
   * @param seqIds a group's sequences, on the device
   * @param mapping receives (device, CPU) pairs
   */
  swapOut(seqIds: readonly RequestId[], mapping: DrivenBlockPair[]): boolean;
  /**
   * Whether a swapped group fits back on the device.
   * @param seqs a group's sequences, on the CPU
   */
  canSwapIn(seqs: readonly DrivenSequence[]): DrivenAllocStatus;
  /**
   * Moves a group's tables back to the device.
   * @param seqIds a group's sequences, on the CPU
   * @param mapping receives (CPU, device) pairs
   */
  swapIn(seqIds: readonly RequestId[], mapping: DrivenBlockPair[]): boolean;
  /**
   * Releases a sequence's table; idempotent.
   * @param seqId any sequence id
   */
  free(seqId: RequestId): void;
  /**
   * True when `seqId` has a table.
   * @param seqId any sequence id
   */
  hasTable(seqId: RequestId): boolean;
  /**
   * The sequence's block table (device or CPU ids).
   * @param seqId a sequence with a table
   */
  getBlockTable(seqId: RequestId): readonly BlockId[];
  /**
   * Records a scheduled step.
   * @param seqs (sequence id, computed tokens after the step) pairs
   * @param now seconds on the scheduler's clock
   */
  markScheduled(seqs: Iterable<readonly [RequestId, number]>, now: number): void;
  /** Forgets cached content; false while sequences hold blocks. */
  resetPrefixCache(): boolean;
}

/** A manager built for one run, with its pools exposed for the ref-count checks. */
export interface ManagerUnderTest<M extends DrivenV0BlockManager> {
  /** The manager, built with watermark 0. */
  readonly manager: M;
  /** Its device pool. */
  readonly gpu: DrivenBlockPool;
  /** Its CPU swap pool, or null when it has none. */
  readonly cpu: DrivenBlockPool | null;
}

/** Sizes of one run's manager. */
export interface DrivenManagerSizes {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Device blocks, the null block included (at least 3). */
  readonly numGpuBlocks: number;
  /** CPU blocks, block 0 included (below 2: no swap pool). */
  readonly numCpuBlocks: number;
}
