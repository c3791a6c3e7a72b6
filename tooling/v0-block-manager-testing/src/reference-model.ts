import type { BlockId, RequestId } from '@vllm-ts/core';
import type { DrivenBlockPair, DrivenManagerSizes, DrivenSequence } from './v0-block-manager.js';

/** A live sequence as the model tracks it. */
export interface ModelSequence extends DrivenSequence {
  /** Prompt + appended tokens; replaced (never mutated) when the sequence grows. */
  tokenIds: readonly number[];
  /** Whether its table is in the CPU swap pool. */
  onCpu: boolean;
  /** The sequence it was forked from, transitively (itself for a root): forks share blocks, so a group swaps together. */
  readonly root: RequestId;
}

/** The slot value the model writes for token `token` at position `pos`: distinct per (position, token). */
export function slotValue(pos: number, token: number): number {
  return pos * 1000 + token;
}

/**
 * The reference model of a V0 block manager's users: the live sequences, where each one is, and a
 * simulated KV cache per pool (one number per token slot, -1 when never written). Writes go through
 * the manager's block tables and copies/swaps through the pairs it returns, so a table pointing at
 * the wrong block, a missing copy-on-write or a wrong swap mapping leaves a slot holding another
 * token, which {@link ReferenceModel.readSlot} exposes.
 */
export class ReferenceModel {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Live sequences, in the order they were added or forked. */
  readonly seqs: ModelSequence[] = [];
  private readonly kv: { readonly gpu: Float64Array; readonly cpu: Float64Array };

  /**
   * @param sizes the manager's block size and pool sizes
   */
  constructor(sizes: DrivenManagerSizes) {
    this.blockSize = sizes.blockSize;
    this.kv = {
      gpu: new Float64Array(sizes.numGpuBlocks * sizes.blockSize).fill(-1),
      cpu: new Float64Array(Math.max(sizes.numCpuBlocks, 1) * sizes.blockSize).fill(-1),
    };
  }

  /**
   * Writes `seq`'s tokens from position `from` on into the device slots `table` names.
   * @param seq a sequence on the device
   * @param table its device block table
   * @param from first position to write
   */
  write(seq: ModelSequence, table: readonly BlockId[], from: number): void {
    const bs = this.blockSize;
    for (let p = from; p < seq.tokenIds.length; p++) this.kv.gpu[table[Math.floor(p / bs)]! * bs + (p % bs)] = slotValue(p, seq.tokenIds[p]!);
  }

  /**
   * Copies whole blocks, as the cache engine does for copy-on-write and swaps.
   * @param fromCpu whether the sources are CPU blocks
   * @param toCpu whether the destinations are CPU blocks
   * @param pairs (source, destination) pairs
   */
  copy(fromCpu: boolean, toCpu: boolean, pairs: readonly DrivenBlockPair[]): void {
    const bs = this.blockSize;
    const from = fromCpu ? this.kv.cpu : this.kv.gpu;
    const to = toCpu ? this.kv.cpu : this.kv.gpu;
    // Pairs of one call never chain (a destination is never a later source), so order is irrelevant.
    for (const [a, b] of pairs) to.set(from.slice(a * bs, (a + 1) * bs), b * bs);
  }

  /**
   * What slot `pos` of `seq` holds, read through `table` in the pool the sequence is in.
   * @param seq a live sequence
   * @param table its block table
   * @param pos a position below its length
   */
  readSlot(seq: ModelSequence, table: readonly BlockId[], pos: number): number {
    const bs = this.blockSize;
    return (seq.onCpu ? this.kv.cpu : this.kv.gpu)[table[Math.floor(pos / bs)]! * bs + (pos % bs)]!;
  }

  /**
   * The live sequences sharing `seq`'s root (`seq` included), which must swap together.
   * @param seq a live sequence
   */
  group(seq: ModelSequence): ModelSequence[] {
    return this.seqs.filter((x) => x.root === seq.root);
  }

  /**
   * Forgets a freed sequence.
   * @param seq a live sequence
   */
  remove(seq: ModelSequence): void {
    this.seqs.splice(this.seqs.indexOf(seq), 1);
  }
}
