import type { BlockId, RequestId } from '@vllm-ts/core';

/** Options of `BlockSpaceManager`. */
export interface BlockSpaceManagerOptions {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Device blocks, the null block (0) included. */
  readonly numGpuBlocks: number;
  /** CPU swap blocks, block 0 reserved likewise; below 2 means no swap pool. Default 0. */
  readonly numCpuBlocks?: number;
  /** Fraction of device blocks kept free when admitting or swapping in (V0's default 0.01). */
  readonly watermark?: number;
}

/** What a V0 block manager reads from a sequence: its id and its tokens so far. */
export interface V0Sequence {
  /** The id the model runner knows the sequence by. */
  readonly seqId: RequestId;
  /** Prompt + output token ids (the outputs of a recomputed sequence included). */
  readonly tokenIds: readonly number[];
  /** Tenant salt keying the prefix cache (first block only). */
  readonly cacheSalt?: string | undefined;
  /** LoRA adapter keying the prefix cache. */
  readonly loraName?: string | undefined;
}

/** A (source, destination) block pair: a copy-on-write copy or a swap move. */
export type BlockPair = [BlockId, BlockId];

/** One sequence's block table, as subclasses of `BlockSpaceManager` see it. */
export interface SeqTable {
  blocks: BlockId[];
  /** Token slots written (or being written this step); blocks may hold lookahead slots beyond. */
  numSlots: number;
  onCpu: boolean;
}
