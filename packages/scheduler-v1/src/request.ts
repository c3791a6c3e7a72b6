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
import { digestWord, hashFromDigest, RequestBlockHasher } from '@vllm-ts/prefix-cache';
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
 * `numBlockHashes` / `lastBlockHash` are its length and last entry (under `murmur3_128` the hashes
 * are kept as digest words, and their strings are made when read);
 * `numComputedTokens` is 0 while waiting; `numOutputPlaceholders` is 0 without async scheduling.
 * @internal
 */
export class Request implements KVCacheRequest, KVCacheStateHolder {
  // NOTE: fields are laid out in declaration order, 8 bytes each (Node's V8 does not compress
  // pointers). The per-step loops read the first ones only: schedule()'s decode path the first 8,
  // the update's decode path the first 19, so a request costs them two and three cache lines.
  numComputedTokens = 0;
  /** Prompt + output tokens. */
  numTokens: number;
  /** Tokens that in-flight steps will sample (async scheduling only; 0 otherwise). */
  numOutputPlaceholders = 0;
  /** Proposed drafts for the next step. */
  specTokenIds: readonly number[] = NO_TOKENS;
  /**
   * While running: a `KVCacheManager.decodeLimit` the scheduler read for it (-1: none yet). The
   * limit only grows while the request holds its blocks, so a stale one is safe (merely low); it is
   * reset on admission and when the request leaves the running set.
   */
  decodeLimit = -1;
  readonly reqId: RequestId;
  /** Tokens scheduled in the current step. */
  stepTokens = 0;
  /**
   * Set at schedule time: the step computes part of the known (and in-flight) tokens only, so it
   * samples nothing.
   */
  isPrefillChunk = true;
  status: RequestStatus = RequestStatus.WAITING;
  /** `numTokens` that ends the request as length-capped: the prompt + `maxTokens` (<= maxModelLen). */
  readonly maxTokensEnd: number;
  // numTokens % blockSize (kept, not computed: a division per token is measurable at 1,024 requests).
  private blockOffset: number;
  // While running: where the next token goes in `tails.buf` (-1: no tail slot).
  private tailPos = -1;
  private tails: TokenTails | null = null;
  /** The last appended token (kept apart: the stop check reads it every step). */
  lastTokenId: number;
  /** `numTokens` from which the stop checks apply: the prompt + `minTokens`. */
  readonly minTokensEnd: number;
  /**
   * The EOS token that stops it, or -1 for none (`ignoreEos`, or a model without one): a number
   * either way, so the stop check compares two small integers instead of calling a generic `===`.
   */
  readonly eosTokenId: number;
  /** The sampling params' stop token ids, or null when there are none. */
  readonly stopTokenIds: readonly number[] | null;
  private events: RequestEvent[] | null = null;
  /** Prompt tokens served from the prefix cache at first admission; -1 before it. */
  numCachedTokens = -1;
  /** The KV manager's handle on this request's blocks (see `KVCacheStateHolder`). */
  kvCacheState: unknown = null;
  /** `blockHashes.length`, kept beside the fields a token append touches (see `BlockHashTail`). */
  numBlockHashes = 0;
  // The last block hash's digest words (murmur3_128 chains), read when a block fills: hashing the
  // next block then reads neither the parent string nor the history.
  private d0 = 0;
  private d1 = 0;
  private d2 = 0;
  private d3 = 0;
  // The tail slot's first index in `tails.buf` while running (-1: none); its positions hold
  // tokens [numTokens - numTokens % slotSize, ...) of the current window.
  private tailBase = -1;
  /** Tokens of `tokens` that are current (the others wait in the tail slot). */
  numFlushed: number;
  // `hashList.length`. The blocks after it (filled by decodes, murmur3_128) are hashed as digest
  // words only: their strings are made when read (`lastBlockHash` on the spot, `blockHashes` again
  // from the tokens). Storing a fresh string into this old object or its list costs a write-barrier
  // call, and touching the list a cache miss; the scheduler reads a running request's hashes only
  // to cache its blocks, one `lastBlockHash` per block.
  private numListedHashes = 0;
  // The shared hasher when it chains on digest words (murmur3_128), else null.
  private readonly wordHasher: BlockHasher | null;
  readonly numPromptTokens: number;
  readonly minTokens: number;
  readonly maxTokens: number;
  /**
   * Prompt then outputs (no drafts): `tokens[0..numFlushed)` here, the rest (at most a tail slot's
   * window) in the running set's {@link TokenTails} while the request runs; spare capacity after.
   */
  tokens: Int32Array;
  // The first `numListedHashes` of `blockHashes`: read it through the `blockHashes` accessor.
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
    this.eosTokenId = req.samplingParams.ignoreEos || req.eosTokenId === null ? -1 : req.eosTokenId;
    this.minTokens = req.samplingParams.minTokens;
    this.stopTokenIds = req.samplingParams.stopTokenIds.length > 0 ? req.samplingParams.stopTokenIds : null;
    this.maxTokens = maxTokens;
    this.minTokensEnd = len + this.minTokens;
    this.maxTokensEnd = len + maxTokens;
    this.arrivalTime = req.arrivalTime;
    this.priority = req.priority ?? 0;
    this.seq = seq;
    this.skipReadingPrefixCache = req.samplingParams.promptLogprobs !== null;
    this.hasher = new RequestBlockHasher(hasher, blockSize, { cacheSalt: req.cacheSalt ?? null, loraName: req.loraName ?? null });
    this.wordHasher = hasher.algorithm === 'murmur3_128' ? hasher : null;
    this.extendHashes(len);
  }

  /** The hash of every full block of the known tokens, in order. */
  get blockHashes(): readonly BlockHash[] {
    const list = this.hashList;
    if (this.numListedHashes < this.numBlockHashes) {
      this.flushTail();
      this.hasher.extend(this.tokens, list, this.numBlockHashes * this.hasher.blockSize);
      this.numListedHashes = list.length;
    }
    return list;
  }

  /**
   * The last of `blockHashes` (null before the first full block). Under murmur3_128 a decode's hash
   * is made from its kept digest words, not stored (see `numListedHashes`): the KV manager reads it once,
   * to cache the block.
   */
  get lastBlockHash(): BlockHash | null {
    const n = this.numBlockHashes;
    if (n === 0) return null;
    if (this.numListedHashes === n) return this.hashList[n - 1]!;
    return hashFromDigest(this.d0, this.d1, this.d2, this.d3);
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
    const k = this.blockOffset + 1;
    this.numTokens = n + 1;
    this.lastTokenId = tokenId;
    const pos = this.tailPos;
    if (pos >= 0) {
      const tails = this.tails!;
      const buf = tails.buf;
      buf[pos] = tokenId;
      const bs = tails.blockSize;
      if (k !== bs) {
        this.blockOffset = k;
        this.tailPos = pos + 1;
        return;
      }
      // The block is full. When the tail holds all of it and its parent's hash is known, hash it
      // from the tail, chained on the kept digest; the history is written once per window.
      this.blockOffset = 0;
      const base = this.tailBase;
      const wraps = pos + 1 === base + tails.slotSize;
      this.tailPos = wraps ? base : pos + 1;
      const i = this.numBlockHashes;
      const hasher = this.wordHasher;
      if (hasher !== null && i > 0 && (i + 1) * bs === n + 1 && this.numFlushed <= i * bs) {
        hasher.digestAfter(this.d0, this.d1, this.d2, this.d3, buf, pos + 1 - bs, pos + 1);
        const d = hasher.lastDigest;
        this.d0 = d[0]! | 0;
        this.d1 = d[1]! | 0;
        this.d2 = d[2]! | 0;
        this.d3 = d[3]! | 0;
        this.numBlockHashes = i + 1;
        if (wraps) this.flushTail();
        return;
      }
      this.flushTail();
    } else {
      const bs = this.hasher.blockSize;
      this.blockOffset = k === bs ? 0 : k;
      this.ensureCapacity(n + 1);
      this.tokens[n] = tokenId;
      this.numFlushed = n + 1;
      if (k !== bs) return;
    }
    this.extendHashes(n + 1);
  }

  // Hashes the full blocks of tokens[0..length) not hashed yet (from the history; the string path).
  private extendHashes(length: number): void {
    const list = this.blockHashes as BlockHash[];
    if (this.hasher.extend(this.tokens, list, length) === 0) return;
    this.numBlockHashes = this.numListedHashes = list.length;
    if (this.wordHasher === null) return;
    const h = list[list.length - 1]!;
    this.d0 = digestWord(h, 0);
    this.d1 = digestWord(h, 1);
    this.d2 = digestWord(h, 2);
    this.d3 = digestWord(h, 3);
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
    this.tailPos = this.tailBase + (this.numTokens % tails.slotSize);
  }

  /** Moves the tail's tokens into the history and gives the slot back (on leaving the running set). */
  detachTail(): void {
    this.decodeLimit = -1;
    if (this.tailBase < 0) return;
    this.flushTail();
    this.tails!.release(this.tailBase);
    this.tails = null;
    this.tailBase = -1;
    this.tailPos = -1;
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
    const at = this.tailBase + (from % this.tails!.slotSize) - from;
    // A whole window is one memcpy; a few tokens (a detach mid-block) are copied one by one.
    if (n - from >= 16) tokens.set(buf.subarray(at + from, at + n), from);
    else for (let p = from; p < n; p++) tokens[p] = buf[at + p]!;
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
