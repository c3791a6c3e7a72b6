import { VllmError } from '@vllm-ts/core';

/** Codes of {@link BlockTableError}. */
export type BlockTableErrorCode = 'unknown_sequence' | 'duplicate_sequence' | 'wrong_device';

/**
 * A caller misused a V0 block manager's per-sequence tables: named a sequence without a table, gave
 * a sequence a second table, or asked for a device operation on a swapped-out sequence (or the
 * reverse). `seqId` names the sequence.
 */
export class BlockTableError extends VllmError {
  declare readonly code: BlockTableErrorCode;
  /** The sequence concerned. */
  readonly seqId: string;

  /**
   * @param code what kind of misuse
   * @param seqId the sequence concerned
   * @param message what was wrong, expected and received
   */
  constructor(code: BlockTableErrorCode, seqId: string, message: string) {
    super(code, message);
    this.seqId = seqId;
  }
}
