import { VllmError } from '@vllm-ts/core';

/** Codes of {@link BlockError}: each names one kind of misuse of a block pool or free queue. */
export type BlockErrorCode =
  | 'invalid_block_count'
  | 'unknown_block'
  | 'null_block'
  | 'double_free'
  | 'already_free'
  | 'not_free'
  | 'free_queue_empty'
  | 'block_not_held'
  | 'already_cached';

/**
 * A caller misused a block pool: freed a block twice, named a block that does not exist, touched
 * the null block, and the like. The message names the block; `blockId` carries it when there is one.
 * Running out of free blocks is not an error: allocation returns null.
 */
export class BlockError extends VllmError {
  declare readonly code: BlockErrorCode;
  /** The block the misuse concerns, or null. */
  readonly blockId: number | null;

  /**
   * @param code what kind of misuse
   * @param message what was wrong, expected and received
   * @param blockId the block concerned, if any
   */
  constructor(code: BlockErrorCode, message: string, blockId: number | null = null) {
    super(code, message);
    this.blockId = blockId;
  }
}
