import type { BlockId, KVCacheBlocks } from '@vllm-ts/core';

/**
 * An immutable list of block ids as {@link KVCacheManager} hands them out.
 * Implements core's opaque `KVCacheBlocks`.
 */
export class BlockList implements KVCacheBlocks {
  /** The shared empty list (returned when a step needs no new block, so nothing is allocated). */
  static readonly EMPTY: BlockList = new BlockList([]);
  private readonly ids: readonly BlockId[];

  /** @param ids the blocks, in table order; the list takes ownership of the array */
  constructor(ids: readonly BlockId[]) {
    this.ids = ids;
  }

  /** Number of blocks. */
  get length(): number {
    return this.ids.length;
  }

  /** The blocks' ids, in table order. */
  getBlockIds(): readonly BlockId[] {
    return this.ids;
  }
}
