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
import { digestWord, RequestBlockHasher } from '@vllm-ts/prefix-cache';
import type { TokenTails } from './token-tails.js';

const NO_EVENTS: readonly RequestEvent[] = Object.freeze([]);
const NO_TOKENS: readonly number[] = Object.freeze([]);
// Output tokens a running request's history has room for up front (16 KiB).
const HISTORY_RESERVE = 4096;

/**
 * The scheduler's state of one request. There is no prefill flag: the request needs
 * `numTokensWithSpec - numComputedTokens` more tokens computed, and a prefill chunk is simply a
 * step that computes fewer than that.
 *
 * Under async scheduling a request also has `numOutputPlaceholders`: tokens that steps already
 * scheduled will sample but whose ids are not known yet; their positions count as computed.
 *
 * Invariants: `numComputedTokens <= numTokensWithSpec + numOutputPlaceholders`; `blockHashes` holds
 * the hash of every full block of `tokens` (known tokens only, never a placeholder position), and
 * `numBlockHashes` / `lastBlockHash` are its length and last entry;
 * `numComputedTokens` is 0 while waiting; `numOutputPlaceholders` is 0 without async scheduling.
 * @internal
 */
export class Request implements KVCacheRequest, KVCacheStateHolder {
  // NOTE: fields are declared (so laid out) hottest first: the per-step loops read the first ~22
  // (through numCachedTokens), which then share three or four cache lines.
  status: RequestStatus = RequestStatus.WAITING;
  numComputedTokens = 0;
  /** Prompt + output tokens. */
  numTokens: number;
  /** Tokens that in-flight steps will sample (async scheduling only; 0 otherwise). */
  numOutputPlaceholders = 0;
  /** Proposed drafts for the next step. */
  specTokenIds: readonly number[] = NO_TOKENS;
  /** Tokens scheduled in the current step. */
  stepTokens = 0;
  /**
   * Set at schedule time: the step computes part of the known (and in-flight) tokens only, so it
   * samples nothing.
   */
  isPrefillChunk = true;
  /** The KV manager's handle on this request's blocks (see `KVCacheStateHolder`). */
  kvCacheState: unknown = null;
  /**
   * While running: a `KVCacheManager.decodeLimit` the scheduler read for it (-1: none yet). The
   * limit only grows while the request holds its blocks, so a stale one is safe (merely low); it is
   * reset on admission and when the request leaves the running set.
   */
  decodeLimit = -1;
  readonly reqId: RequestId;
  /** The last appended token (kept apart: the stop check reads it every step). */
  lastTokenId: number;
  // The tail slot while running: this request's first index in the buffer (-1: none), the slot's
  // size, numTokens % tailSize, and the buffer.
  private tailBase = -1;
  private tailSize = 1;
  private tailOffset = 0;
  // numTokens % blockSize (kept, not computed: a division per token is measurable at 1,024 requests).
  private blockOffset: number;
  private tails: TokenTails | null = null;
  private readonly blockSize: number;
  /** `numTokens` from which the stop checks apply: the prompt + `minTokens`. */
  readonly minTokensEnd: number;
  /** `numTokens` that ends the request as length-capped: the prompt + `maxTokens` (<= maxModelLen). */
  readonly maxTokensEnd: number;
  /** From the sampling params (copied: read for every token). */
  readonly eosTokenId: number | null;
  /** The sampling params' stop token ids, or null when there are none. */
  readonly stopTokenIds: readonly number[] | null;
  private events: RequestEvent[] | null = null;
  /** Prompt tokens served from the prefix cache at first admission; -1 before it. */
  numCachedTokens = -1;
  // The last block hash's digest words (murmur3_128 chains), kept beside the fields a token append
  // touches anyway: hashing the next block then reads neither the parent string nor the history.
  private d0 = 0;
  private d1 = 0;
  private d2 = 0;
  private d3 = 0;
  /** `blockHashes.length`, kept beside the fields a token append touches (see `BlockHashTail`). */
  numBlockHashes = 0;
  // Hashes of blocks filled in the tail, not yet appended to `hashList` (ph0 is the oldest): the
  // array and its elements are touched once per flush instead of once per filled block.
  private numPendingHashes = 0;
  private ph0: BlockHash | null = null;
  private ph1: BlockHash | null = null;
  private ph2: BlockHash | null = null;
  private ph3: BlockHash | null = null;
  // The shared hasher when it chains on digest words (murmur3_128), else null.
  private readonly wordHasher: BlockHasher | null;
  readonly numPromptTokens: number;
  readonly minTokens: number;
  readonly maxTokens: number;
  /** Tokens of `tokens` that are current (the others wait in the tail slot). */
  numFlushed: number;
  /**
   * Prompt then outputs (no drafts): `tokens[0..numFlushed)` here, the rest (at most a tail slot's
   * window) in the running set's {@link TokenTails} while the request runs; spare capacity after.
   */
  tokens: Int32Array;
  // `blockHashes` less the pending ones: read it through the `blockHashes` accessor.
  private readonly hashList: BlockHash[] = [];
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
    this.minTokensEnd = len + this.minTokens;
    this.maxTokensEnd = len + maxTokens;
    this.arrivalTime = req.arrivalTime;
    this.priority = req.priority ?? 0;
    this.seq = seq;
    this.skipReadingPrefixCache = req.samplingParams.promptLogprobs !== null;
    this.blockSize = blockSize;
    this.hasher = new RequestBlockHasher(hasher, blockSize, { cacheSalt: req.cacheSalt ?? null, loraName: req.loraName ?? null });
    this.wordHasher = hasher.algorithm === 'murmur3_128' ? hasher : null;
    this.extendHashes(len);
  }

  /** The hash of every full block of the known tokens, in order. */
  get blockHashes(): readonly BlockHash[] {
    if (this.numPendingHashes > 0) this.flushHashes();
    return this.hashList;
  }

  /**
   * The last of `blockHashes` (null before the first full block). Read from where it is kept, not
   * stored apart: a fresh hash stored into this (old) object costs a write-barrier call.
   */
  get lastBlockHash(): BlockHash | null {
    switch (this.numPendingHashes) {
      case 0:
        return this.hashList.length === 0 ? null : this.hashList[this.hashList.length - 1]!;
      case 1:
        return this.ph0;
      case 2:
        return this.ph1;
      case 3:
        return this.ph2;
      default:
        return this.ph3;
    }
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
      const buf = this.tails!.buf;
      const w = this.tailOffset;
      buf[this.tailBase + w] = tokenId;
      this.tailOffset = w + 1 === this.tailSize ? 0 : w + 1;
      if (k !== this.blockSize - 1) return;
      // The block is full. When the tail holds all of it and its parent's hash is known, hash it
      // from the tail, chained on the kept digest; the history is written once per window.
      const i = this.numBlockHashes;
      const hasher = this.wordHasher;
      if (hasher !== null && i > 0 && (i + 1) * this.blockSize === n + 1 && this.numFlushed <= i * this.blockSize) {
        const end = this.tailBase + w + 1;
        this.pushPendingHash(hasher.hashAfterDigest(this.d0, this.d1, this.d2, this.d3, buf, end - this.blockSize, end));
        const d = hasher.lastDigest;
        this.d0 = d[0]! | 0;
        this.d1 = d[1]! | 0;
        this.d2 = d[2]! | 0;
        this.d3 = d[3]! | 0;
        if (w + 1 === this.tailSize) this.flushTail();
        return;
      }
      this.flushTail();
    } else {
      this.ensureCapacity(n + 1);
      this.tokens[n] = tokenId;
      this.numFlushed = n + 1;
      if (k !== this.blockSize - 1) return;
    }
    this.extendHashes(n + 1);
  }

  // Hashes the full blocks of tokens[0..length) not hashed yet (from the history; the string path).
  private extendHashes(length: number): void {
    if (this.numPendingHashes > 0) this.flushHashes();
    const list = this.hashList;
    if (this.hasher.extend(this.tokens, list, length) === 0) return;
    const h = list[list.length - 1]!;
    this.numBlockHashes = list.length;
    if (this.wordHasher === null) return;
    this.d0 = digestWord(h, 0);
    this.d1 = digestWord(h, 1);
    this.d2 = digestWord(h, 2);
    this.d3 = digestWord(h, 3);
  }

  private pushPendingHash(h: BlockHash): void {
    if (this.numPendingHashes === 4) this.flushHashes();
    const k = this.numPendingHashes++;
    if (k === 0) this.ph0 = h;
    else if (k === 1) this.ph1 = h;
    else if (k === 2) this.ph2 = h;
    else this.ph3 = h;
    this.numBlockHashes++;
  }

  private flushHashes(): void {
    const list = this.hashList;
    const k = this.numPendingHashes;
    list.push(this.ph0!);
    if (k > 1) list.push(this.ph1!);
    if (k > 2) list.push(this.ph2!);
    if (k > 3) list.push(this.ph3!);
    this.ph0 = this.ph1 = this.ph2 = this.ph3 = null;
    this.numPendingHashes = 0;
  }

  /**
   * Starts keeping the current block's tokens in a slot of `tails` (on admission to the running set).
   * @param tails the running set's tail buffer
   */
  attachTail(tails: TokenTails): void {
    if (this.tailBase >= 0) return;
    this.decodeLimit = -1;
    // Room for the outputs it may produce (up to HISTORY_RESERVE more tokens), so the history is
    // not regrown and copied every few hundred tokens while it runs; waiting requests keep less.
    this.ensureCapacity(Math.min(this.maxTokensEnd, this.numTokens + HISTORY_RESERVE));
    this.tails = tails;
    this.tailBase = tails.acquire();
    this.tailSize = tails.slotSize;
    this.tailOffset = this.numTokens % tails.slotSize;
  }

  /** Moves the tail's tokens into the history and gives the slot back (on leaving the running set). */
  detachTail(): void {
    this.decodeLimit = -1;
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

  // The unflushed positions [numFlushed, numTokens) lie in one window of the slot, in order.
  private flushTail(): void {
    const n = this.numTokens;
    const from = this.numFlushed;
    if (from === n || this.tailBase < 0) return;
    this.ensureCapacity(n);
    const buf = this.tails!.buf;
    const tokens = this.tokens;
    const at = this.tailBase + (from % this.tailSize) - from;
    // A whole window is one memcpy; a few tokens (a detach mid-block) are copied one by one.
    if (n - from >= 16) tokens.set(buf.subarray(at + from, at + n), from);
    else for (let p = from; p < n; p++) tokens[p] = buf[at + p]!;
    this.numFlushed = n;
    if (this.numPendingHashes > 0) this.flushHashes();
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
