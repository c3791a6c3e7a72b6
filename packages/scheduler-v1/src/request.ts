import {
  RequestStatus,
  type BlockHash,
  type EngineCoreRequest,
  type KVCacheRequest,
  type RequestEvent,
  type RequestId,
  type SamplingParamsData,
} from '@vllm-ts/core';
import type { BlockHasher, KVCacheStateHolder } from '@vllm-ts/prefix-cache';
import { RequestBlockHasher } from '@vllm-ts/prefix-cache';

const NO_EVENTS: readonly RequestEvent[] = Object.freeze([]);

/**
 * The scheduler's state of one request. There is no prefill flag: the request needs
 * `numTokensWithSpec - numComputedTokens` more tokens computed, and a prefill chunk is simply a
 * step that computes fewer than that.
 *
 * Invariants: `numComputedTokens <= numTokensWithSpec`; `blockHashes` holds the hash of every full
 * block of `tokens`; `numComputedTokens` is 0 while waiting.
 * @internal
 */
export class Request implements KVCacheRequest, KVCacheStateHolder {
  readonly reqId: RequestId;
  readonly promptTokenIds: readonly number[];
  readonly numPromptTokens: number;
  /** Prompt then outputs (no drafts) in `tokens[0..numTokens)`; spare capacity after. */
  tokens: Int32Array;
  /** Prompt + output tokens. */
  numTokens: number;
  readonly samplingParams: SamplingParamsData;
  readonly eosTokenId: number | null;
  /** From the sampling params (copied: read for every token). */
  readonly minTokens: number;
  /** The sampling params' stop token ids, or null when there are none. */
  readonly stopTokenIds: readonly number[] | null;
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
  /** The KV manager's handle on this request's blocks (see `KVCacheStateHolder`). */
  kvCacheState: unknown = null;
  private events: RequestEvent[] | null = null;
  private readonly hasher: RequestBlockHasher;
  private readonly blockSize: number;

  constructor(req: EngineCoreRequest, maxTokens: number, seq: number, hasher: BlockHasher, blockSize: number) {
    this.reqId = req.reqId;
    this.promptTokenIds = req.promptTokenIds;
    this.numPromptTokens = req.promptTokenIds.length;
    const len = req.promptTokenIds.length;
    // Typed storage lives off the JS heap, so the scavenger never copies a long history.
    this.tokens = new Int32Array(len + Math.min(maxTokens, Math.max(64, len)));
    for (let i = 0; i < len; i++) this.tokens[i] = req.promptTokenIds[i]!;
    this.numTokens = len;
    this.samplingParams = req.samplingParams;
    this.eosTokenId = req.samplingParams.ignoreEos ? null : req.eosTokenId;
    this.minTokens = req.samplingParams.minTokens;
    this.stopTokenIds = req.samplingParams.stopTokenIds.length > 0 ? req.samplingParams.stopTokenIds : null;
    this.maxTokens = maxTokens;
    this.arrivalTime = req.arrivalTime;
    this.priority = req.priority ?? 0;
    this.seq = seq;
    this.skipReadingPrefixCache = req.samplingParams.promptLogprobs !== null;
    this.blockSize = blockSize;
    this.hasher = new RequestBlockHasher(hasher, blockSize, { cacheSalt: req.cacheSalt ?? null, loraName: req.loraName ?? null });
    this.hasher.extend(this.tokens, this.blockHashes, len);
  }

  /** Output tokens so far. */
  get numOutputTokens(): number {
    return this.numTokens - this.numPromptTokens;
  }

  /** Prompt + outputs + drafts. */
  get numTokensWithSpec(): number {
    return this.numTokens + this.specTokenIds.length;
  }

  /** Appends one output token, hashing the block it completes. */
  appendOutputToken(tokenId: number): void {
    const n = this.numTokens;
    if (n === this.tokens.length) {
      const grown = new Int32Array(2 * n);
      grown.set(this.tokens);
      this.tokens = grown;
    }
    this.tokens[n] = tokenId;
    this.numTokens = n + 1;
    if ((n + 1) % this.blockSize === 0) this.hasher.extend(this.tokens, this.blockHashes, n + 1);
  }

  /** The last appended token. */
  get lastTokenId(): number {
    return this.tokens[this.numTokens - 1]!;
  }

  /** Prompt + output tokens, as a fresh array. */
  allTokenIds(): number[] {
    return Array.from(this.tokens.subarray(0, this.numTokens));
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
