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
import type { TokenTails } from './token-tails.js';

const NO_EVENTS: readonly RequestEvent[] = Object.freeze([]);
const NO_TOKENS: readonly number[] = Object.freeze([]);

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
  // NOTE: fields are declared (so laid out) hottest first: the per-step loops read the first ~20,
  // which then share two or three cache lines.
  status: RequestStatus = RequestStatus.WAITING;
  numComputedTokens = 0;
  /** Prompt + output tokens. */
  numTokens: number;
  /** Proposed drafts for the next step. */
  specTokenIds: readonly number[] = NO_TOKENS;
  /** Tokens scheduled in the current step. */
  stepTokens = 0;
  /** Set at schedule time: the step computes part of the known tokens only, so it samples nothing. */
  isPrefillChunk = true;
  /** The KV manager's handle on this request's blocks (see `KVCacheStateHolder`). */
  kvCacheState: unknown = null;
  readonly reqId: RequestId;
  /** The last appended token (kept apart: the stop check reads it every step). */
  lastTokenId: number;
  // The tail slot while running: this request's first index in the buffer (-1: none), and the buffer.
  private tailBase = -1;
  // numTokens % blockSize (kept, not computed: a division per token is measurable at 1,024 requests).
  private blockOffset: number;
  private tails: TokenTails | null = null;
  private readonly blockSize: number;
  readonly numPromptTokens: number;
  /** From the sampling params (copied: read for every token). */
  readonly minTokens: number;
  readonly eosTokenId: number | null;
  readonly maxTokens: number;
  /** The sampling params' stop token ids, or null when there are none. */
  readonly stopTokenIds: readonly number[] | null;
  /** Prompt tokens served from the prefix cache at first admission; -1 before it. */
  numCachedTokens = -1;
  private events: RequestEvent[] | null = null;
  /** Tokens of `tokens` that are current (the others wait in the tail slot). */
  numFlushed: number;
  /**
   * Prompt then outputs (no drafts): `tokens[0..numFlushed)` here, the rest of the current block
   * in the running set's {@link TokenTails} while the request runs; spare capacity after.
   */
  tokens: Int32Array;
  readonly blockHashes: BlockHash[] = [];
  stopReason: number | null = null;
  readonly promptTokenIds: readonly number[];
  readonly samplingParams: SamplingParamsData;
  readonly arrivalTime: number;
  readonly priority: number;
  /** Order of `addRequest` calls: the last tie-breaker under the priority policy. */
  readonly seq: number;
  readonly skipReadingPrefixCache: boolean;
  numPreemptions = 0;
  private readonly hasher: RequestBlockHasher;

  constructor(req: EngineCoreRequest, maxTokens: number, seq: number, hasher: BlockHasher, blockSize: number) {
    this.reqId = req.reqId;
    this.promptTokenIds = req.promptTokenIds;
    this.numPromptTokens = req.promptTokenIds.length;
    const len = req.promptTokenIds.length;
    // Typed storage lives off the JS heap, so the scavenger never copies a long history.
    this.tokens = new Int32Array(len + Math.min(maxTokens, Math.max(64, len)));
    for (let i = 0; i < len; i++) this.tokens[i] = req.promptTokenIds[i]!;
    this.numTokens = len;
    this.numFlushed = len;
    this.blockOffset = len % blockSize;
    this.lastTokenId = req.promptTokenIds[len - 1]!;
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
    const k = this.blockOffset;
    this.blockOffset = k + 1 === this.blockSize ? 0 : k + 1;
    this.numTokens = n + 1;
    this.lastTokenId = tokenId;
    if (this.tailBase >= 0) {
      this.tails!.buf[this.tailBase + k] = tokenId;
      if (k !== this.blockSize - 1) return;
      this.flushTail();
    } else {
      this.ensureCapacity(n + 1);
      this.tokens[n] = tokenId;
      this.numFlushed = n + 1;
      if (k !== this.blockSize - 1) return;
    }
    this.hasher.extend(this.tokens, this.blockHashes, n + 1);
  }

  /**
   * Starts keeping the current block's tokens in a slot of `tails` (on admission to the running set).
   * @param tails the running set's tail buffer
   */
  attachTail(tails: TokenTails): void {
    if (this.tailBase >= 0) return;
    this.tails = tails;
    this.tailBase = tails.acquire();
  }

  /** Moves the tail's tokens into the history and gives the slot back (on leaving the running set). */
  detachTail(): void {
    if (this.tailBase < 0) return;
    this.flushTail();
    this.tails!.release(this.tailBase);
    this.tails = null;
    this.tailBase = -1;
  }

  /** Prompt + output tokens, as a fresh array. */
  allTokenIds(): number[] {
    this.flushTail();
    return Array.from(this.tokens.subarray(0, this.numTokens));
  }

  private flushTail(): void {
    const n = this.numTokens;
    if (this.numFlushed === n || this.tailBase < 0) return;
    this.ensureCapacity(n);
    const buf = this.tails!.buf;
    const bs = this.blockSize;
    for (let p = this.numFlushed; p < n; p++) this.tokens[p] = buf[this.tailBase + (p % bs)]!;
    this.numFlushed = n;
  }

  private ensureCapacity(n: number): void {
    if (n <= this.tokens.length) return;
    const grown = new Int32Array(Math.max(n, 2 * this.tokens.length));
    grown.set(this.tokens.subarray(0, this.numFlushed));
    this.tokens = grown;
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
