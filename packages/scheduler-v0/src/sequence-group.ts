import {
  RequestStatus,
  childRequestId,
  isFinished,
  type EngineCoreRequest,
  type RequestEvent,
  type RequestId,
  type SamplingParamsData,
} from '@vllm-ts/core';
import type { V0Sequence } from '@vllm-ts/block-allocator';

/**
 * One sequence the model runner sees: the request itself (`n = 1`) or one parallel sample of it.
 * Its KV-cache table lives in the block manager under `seqId`.
 *
 * Invariant: `numComputedTokens <= tokenIds.length`; after `schedule()` it counts the tokens whose
 * KV exists once the step has run (it is advanced when the step is scheduled, as in V1).
 */
export class Sequence implements V0Sequence {
  /** Prompt + output token ids (this array is extended in place). */
  readonly tokenIds: number[];
  /** Tokens generated so far. */
  readonly outputTokenIds: number[] = [];
  numComputedTokens = 0;
  status: RequestStatus = RequestStatus.WAITING;
  /** The stop token id that finished it, if any. */
  stopReason: number | null = null;
  /** Prompt tokens served from the prefix cache at the last admission. */
  numCachedTokens = 0;
  /** The runner holds this sequence's current state (cleared by a recompute preemption: resend it whole). */
  isKnownToRunner = false;
  /** Leading entries of the block table the runner already has. */
  numBlocksSent = 0;
  /** An entry the runner has was replaced (copy-on-write, swap, dedup): resend the whole table. */
  isTableRewritten = false;

  /**
   * @param seqId id the runner sees
   * @param group the group it belongs to
   * @param samplingParams this sequence's own settings (`n` 1, seed offset by its index)
   */
  constructor(
    readonly seqId: RequestId,
    readonly group: SequenceGroup,
    readonly samplingParams: SamplingParamsData,
  ) {
    this.tokenIds = [...group.promptTokenIds];
  }

  /** The request's prefix-cache salt. */
  get cacheSalt(): string | undefined {
    return this.group.cacheSalt;
  }

  /** The request's LoRA adapter. */
  get loraName(): string | undefined {
    return this.group.loraName;
  }

  /** Tokens still to compute before the next sample. */
  get numUncomputedTokens(): number {
    return this.tokenIds.length - this.numComputedTokens;
  }

  /** True once the sequence finished (any finished status). */
  get isFinished(): boolean {
    return isFinished(this.status);
  }
}

/**
 * The sequences built from one request (V0's `SequenceGroup`): one, or `n` parallel samples that
 * share the prompt. Before the fork only the first sequence exists in the block manager; the rest
 * are forked from it, copy-on-write, in the step that completes its prefill.
 */
export class SequenceGroup {
  readonly requestId: RequestId;
  readonly promptTokenIds: readonly number[];
  readonly samplingParams: SamplingParamsData;
  readonly eosTokenId: number | null;
  readonly arrivalTime: number;
  readonly priority: number;
  readonly cacheSalt: string | undefined;
  readonly loraName: string | undefined;
  /** `n` sequences; index 0 is the one prefilled. */
  readonly seqs: Sequence[];
  /** True once the children share the first sequence's blocks (always true when `n = 1`). */
  isForked: boolean;
  numPreemptions = 0;
  /** Lifecycle events not yet reported. */
  events: RequestEvent[] = [];
  private readonly firstOnly: readonly Sequence[];

  /** @param request the engine request */
  constructor(request: EngineCoreRequest) {
    this.requestId = request.reqId;
    this.promptTokenIds = request.promptTokenIds;
    this.samplingParams = request.samplingParams;
    this.eosTokenId = request.samplingParams.ignoreEos ? null : request.eosTokenId;
    this.arrivalTime = request.arrivalTime;
    this.priority = request.priority ?? 0;
    this.cacheSalt = request.cacheSalt;
    this.loraName = request.loraName;
    const n = request.samplingParams.n;
    this.isForked = n === 1;
    this.seqs = [];
    for (let i = 0; i < n; i++) {
      const id = n === 1 ? request.reqId : childRequestId(request.reqId, i);
      this.seqs.push(new Sequence(id, this, childParams(request.samplingParams, i)));
    }
    this.firstOnly = [this.seqs[0]!];
  }

  /** Sequences not finished that hold (or will hold) their own blocks: only the first before the fork. */
  get activeSeqs(): readonly Sequence[] {
    const first = this.seqs[0]!;
    if (this.seqs.length === 1 || !this.isForked) return first.isFinished ? NONE : this.firstOnly;
    return this.seqs.filter((s) => !s.isFinished);
  }

  /** Sequence slots the group takes in the batch: `n` before the fork (V0's `get_max_num_running_seqs`). */
  get maxNumRunningSeqs(): number {
    return this.isForked ? this.activeSeqs.length : this.seqs.length;
  }

  /** True when every sequence finished. */
  get isFinished(): boolean {
    return this.seqs.every((s) => s.isFinished);
  }

  /** True while some active sequence still has prompt (or recompute) tokens to compute. */
  get isPrefill(): boolean {
    for (const s of this.activeSeqs) if (s.numComputedTokens === 0 || s.tokenIds.length - s.numComputedTokens > 1) return true;
    return false;
  }
}

const NONE: readonly Sequence[] = Object.freeze([]);

function childParams(p: SamplingParamsData, index: number): SamplingParamsData {
  if (p.n === 1) return p;
  return Object.freeze({ ...p, n: 1, seed: p.seed === null ? null : p.seed + index });
}
