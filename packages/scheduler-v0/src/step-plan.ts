import type { BlockPair, BlockSpaceManager } from '@vllm-ts/block-allocator';
import type {
  BlockId,
  CachedRequestData,
  NewRequestData,
  RequestId,
  SchedulerOutput,
} from '@vllm-ts/core';
import type { Sequence } from './sequence-group.js';

/** Where a scheduled sequence sits in the batch: V0 puts prefills first, in this order. */
export const Slot = { NewPrefill: 0, RunningPrefill: 1, SwappedPrefill: 2, RunningDecode: 3, SwappedDecode: 4 } as const;

/** One of the {@link Slot} values. */
export type Slot = (typeof Slot)[keyof typeof Slot];

interface Entry {
  readonly seq: Sequence;
  readonly numTokens: number;
  readonly forkedFrom: Sequence | null;
}

/**
 * What one `schedule()` call decided, collected pass by pass, then turned into a
 * `SchedulerOutput`. Entries record each sequence's computed-token count before the step.
 */
export class StepPlan {
  private readonly slots: Entry[][] = [[], [], [], [], []];
  readonly copies: BlockPair[] = [];
  readonly swapIn: BlockPair[] = [];
  readonly swapOut: BlockPair[] = [];
  readonly preemptedSeqIds = new Set<RequestId>();
  /** Groups preempted (by recompute or swap) in this step. */
  numPreemptedGroups = 0;
  totalNumTokens = 0;

  /**
   * Schedules `numTokens` of `seq`'s tokens in `slot`; `forkedFrom` marks a fork (0 tokens).
   * Must be called before `seq.numComputedTokens` is advanced.
   */
  add(slot: Slot, seq: Sequence, numTokens: number, forkedFrom: Sequence | null = null): void {
    this.slots[slot]!.push({ seq, numTokens, forkedFrom });
    this.totalNumTokens += numTokens;
  }

  /** True when nothing was scheduled in `slot`. */
  isEmpty(slot: Slot): boolean {
    return this.slots[slot]!.length === 0;
  }

  /**
   * Builds the runner's view and advances every scheduled sequence's computed tokens.
   * @param bm the block manager holding the tables
   * @param finishedReqIds sequences finished since the previous step
   */
  build(bm: BlockSpaceManager, finishedReqIds: Set<RequestId>): SchedulerOutput {
    const scheduledNewReqs: NewRequestData[] = [];
    const scheduledCachedReqs: CachedRequestData[] = [];
    const numScheduledTokens = new Map<RequestId, number>();
    for (const slot of this.slots) {
      for (const { seq, numTokens, forkedFrom } of slot) {
        const table = bm.getBlockTable(seq.seqId);
        if (!seq.isKnownToRunner) {
          scheduledNewReqs.push({
            reqId: seq.seqId,
            promptTokenIds: seq.group.promptTokenIds,
            outputTokenIds: [...seq.outputTokenIds],
            samplingParams: seq.samplingParams,
            blockIds: [...table],
            numComputedTokens: seq.numComputedTokens,
            forkedFrom: forkedFrom?.seqId ?? null,
          });
        } else if (seq.isTableRewritten) {
          scheduledCachedReqs.push({
            reqId: seq.seqId,
            resumed: true,
            newBlockIds: [...table],
            numComputedTokens: seq.numComputedTokens,
            allTokenIds: [...seq.tokenIds],
          });
        } else {
          scheduledCachedReqs.push({
            reqId: seq.seqId,
            resumed: false,
            newBlockIds: table.length > seq.numBlocksSent ? table.slice(seq.numBlocksSent) : (EMPTY as BlockId[]),
            numComputedTokens: seq.numComputedTokens,
            allTokenIds: null,
          });
        }
        seq.isKnownToRunner = true;
        seq.isTableRewritten = false;
        seq.numBlocksSent = table.length;
        seq.numComputedTokens += numTokens;
        numScheduledTokens.set(seq.seqId, numTokens);
      }
    }
    return {
      scheduledNewReqs,
      scheduledCachedReqs,
      numScheduledTokens,
      totalNumScheduledTokens: this.totalNumTokens,
      scheduledSpecDecodeTokens: new Map(),
      finishedReqIds,
      preemptedReqIds: this.preemptedSeqIds,
      kvCacheOps: { swapIn: this.swapIn, swapOut: this.swapOut, copy: this.copies },
    };
  }
}

const EMPTY: readonly BlockId[] = Object.freeze([]);
