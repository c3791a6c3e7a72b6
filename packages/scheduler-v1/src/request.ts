import {
  RequestStatus,
  type BlockHash,
  type BlockId,
  type EngineCoreRequest,
  type KVCacheRequest,
  type RequestEvent,
  type RequestId,
  type SamplingParamsData,
} from '@vllm-ts/core';
import type { BlockHasher } from '@vllm-ts/prefix-cache';
import { RequestBlockHasher } from '@vllm-ts/prefix-cache';

const NO_EVENTS: readonly RequestEvent[] = Object.freeze([]);

/**
 * The scheduler's state of one request. There is no prefill flag: the request needs
 * `numTokensWithSpec - numComputedTokens` more tokens computed, and a prefill chunk is simply a
 * step that computes fewer than that.
 *
 * Invariants: `numComputedTokens <= numTokensWithSpec`; `blockHashes` holds the hash of every full
 * block of `allTokenIds`; `numComputedTokens` is 0 while waiting.
 * @internal
 */
export class Request implements KVCacheRequest {
  readonly reqId: RequestId;
  readonly promptTokenIds: readonly number[];
  readonly numPromptTokens: number;
  /** Prompt then outputs (no drafts). */
  readonly allTokenIds: number[];
  readonly samplingParams: SamplingParamsData;
  readonly eosTokenId: number | null;
  readonly maxTokens: number;
  readonly arrivalTime: number;
  readonly priority: number;
  /** Order of `addRequest` calls: the last tie-breaker under the priority policy. */
  readonly seq: number;
  readonly blockHashes: BlockHash[] = [];
  readonly skipReadingPrefixCache: boolean;
  status: RequestStatus = RequestStatus.WAITING;
  numComputedTokens = 0;
  /** Set at schedule time: the step computes part of the known tokens only, so it samples nothing. */
  isPrefillChunk = true;
  /** Tokens scheduled in the current step. */
  stepTokens = 0;
  /** Proposed drafts for the next step. */
  specTokenIds: readonly number[] = [];
  numPreemptions = 0;
  /** Prompt tokens served from the prefix cache at first admission; -1 before it. */
  numCachedTokens = -1;
  stopReason: number | null = null;
  /** Blocks allocated in the current `schedule()` call (diff for the runner). */
  stepNewBlocks: readonly BlockId[] = [];
  private events: RequestEvent[] | null = null;
  private readonly hasher: RequestBlockHasher;
  private readonly blockSize: number;

  constructor(req: EngineCoreRequest, maxTokens: number, seq: number, hasher: BlockHasher, blockSize: number) {
    this.reqId = req.reqId;
    this.promptTokenIds = req.promptTokenIds;
    this.numPromptTokens = req.promptTokenIds.length;
    this.allTokenIds = [...req.promptTokenIds];
    this.samplingParams = req.samplingParams;
    this.eosTokenId = req.samplingParams.ignoreEos ? null : req.eosTokenId;
    this.maxTokens = maxTokens;
    this.arrivalTime = req.arrivalTime;
    this.priority = req.priority ?? 0;
    this.seq = seq;
    this.skipReadingPrefixCache = req.samplingParams.promptLogprobs !== null;
    this.blockSize = blockSize;
    this.hasher = new RequestBlockHasher(hasher, blockSize, { cacheSalt: req.cacheSalt ?? null, loraName: req.loraName ?? null });
    this.hasher.extend(this.allTokenIds, this.blockHashes);
  }

  /** Prompt + output tokens. */
  get numTokens(): number {
    return this.allTokenIds.length;
  }

  /** Output tokens so far. */
  get numOutputTokens(): number {
    return this.allTokenIds.length - this.numPromptTokens;
  }

  /** Prompt + outputs + drafts. */
  get numTokensWithSpec(): number {
    return this.allTokenIds.length + this.specTokenIds.length;
  }

  /** Appends one output token, hashing the block it completes. */
  appendOutputToken(tokenId: number): void {
    this.allTokenIds.push(tokenId);
    if (this.allTokenIds.length % this.blockSize === 0) this.hasher.extend(this.allTokenIds, this.blockHashes);
  }

  /** Records a lifecycle event, reported with the request's next output. */
  recordEvent(type: RequestEvent['type'], timestamp: number): void {
    (this.events ??= []).push({ type, timestamp });
  }

  /** The events recorded since the last call. */
  takeEvents(): readonly RequestEvent[] {
    const e = this.events;
    if (e === null) return NO_EVENTS;
    this.events = null;
    return e;
  }

  /** True when events wait to be reported. */
  get hasEvents(): boolean {
    return this.events !== null;
  }
}
