import type { RequestId } from './ids.js';

/** One token with its log-probability and its rank (1 = most likely) in the distribution it came from. */
export interface Logprob {
  readonly tokenId: number;
  readonly logprob: number;
  readonly rank: number;
}

/** Log-probabilities at one position: the chosen token and the `k` most likely ones. */
export interface TokenLogprobs {
  /** The sampled (or, for prompt logprobs, the actual next prompt) token. */
  readonly chosen: Logprob;
  /** The top-k tokens, most likely first (k = the request's `logprobs` / `promptLogprobs`). */
  readonly top: readonly Logprob[];
}

/** Prompt log-probabilities computed in one step for a contiguous run of prompt positions. */
export interface PromptLogprobsChunk {
  /** Index of the first prompt token covered (>= 1: the first prompt token has no logprob). */
  readonly start: number;
  readonly entries: readonly TokenLogprobs[];
}

/**
 * A step's sampled tokens as columns: row `i` is request `reqIds[i]`, its tokens are
 * `tokenIds[offsets[i] .. offsets[i + 1])`. Runners append rows in the step's batch order (the
 * iteration order of `SchedulerOutput.numScheduledTokens`, as vLLM's `req_ids`), so a scheduler
 * walks its batch and the rows side by side, with no lookup per request. A consumer must still
 * check `reqIds[i]` against the request it expects (a row may be missing or out of order).
 */
export interface SampledTokenColumns {
  /** Request ids, one per row. */
  readonly reqIds: readonly RequestId[];
  /** Row starts in `tokenIds`; `offsets[reqIds.length]` ends the last row. */
  readonly offsets: Int32Array;
  /** Every row's tokens, back to back. */
  readonly tokenIds: Int32Array;
}

const NO_ROW: readonly number[] = Object.freeze([]);

/**
 * `ModelRunnerOutput.sampledTokenIds` stored as {@link SampledTokenColumns}: rows are appended
 * with {@link SampledTokenIds.append} (no map insert, no array per request), and the `ReadonlyMap`
 * view (`get`, `has`, iteration) is built on first use for consumers that look up by id. A later
 * row for an id already appended shadows the earlier one in the map view, like `Map.set`.
 *
 * @example
 * ```ts
 * const sampled = new SampledTokenIds();
 * sampled.append(requestId('a'), [17]);        // a decode step
 * sampled.append(requestId('b'), [5, 9, 12]);  // two accepted drafts and the bonus token
 * const out: ModelRunnerOutput = { sampledTokenIds: sampled, logprobs: new Map(), promptLogprobs: new Map() };
 * sampled.get(requestId('b'));                 // [5, 9, 12]
 * ```
 */
export class SampledTokenIds implements ReadonlyMap<RequestId, readonly number[]>, SampledTokenColumns {
  readonly reqIds: RequestId[] = [];
  offsets: Int32Array;
  tokenIds: Int32Array;
  private numTokens = 0;
  // Map view, built on first lookup: id -> row, and rows materialised as arrays.
  private rowOf: Map<RequestId, number> | null = null;
  private rows: (readonly number[] | undefined)[] | null = null;

  /** @param capacity rows to reserve room for (it grows as needed) */
  constructor(capacity = 16) {
    const rows = Math.max(1, Math.floor(capacity));
    this.offsets = new Int32Array(rows + 1);
    this.tokenIds = new Int32Array(rows);
  }

  /**
   * Appends a request's row.
   * @param reqId the request
   * @param tokens its sampled tokens (empty for a prefill chunk that samples nothing)
   */
  append(reqId: RequestId, tokens: ArrayLike<number>): void {
    const n = tokens.length;
    const row = this.reqIds.length;
    if (row + 2 > this.offsets.length) this.offsets = grow(this.offsets, row + 2);
    if (this.numTokens + n > this.tokenIds.length) this.tokenIds = grow(this.tokenIds, this.numTokens + n);
    for (let i = 0; i < n; i++) this.tokenIds[this.numTokens + i] = tokens[i]!;
    this.numTokens += n;
    this.reqIds.push(reqId);
    this.offsets[row + 1] = this.numTokens;
    if (this.rowOf !== null) this.rowOf.set(reqId, row);
  }

  /**
   * Appends a request's row of one token (the decode case).
   * @param reqId the request
   * @param tokenId its sampled token
   */
  appendOne(reqId: RequestId, tokenId: number): void {
    const row = this.reqIds.length;
    if (row + 2 > this.offsets.length) this.offsets = grow(this.offsets, row + 2);
    if (this.numTokens + 1 > this.tokenIds.length) this.tokenIds = grow(this.tokenIds, this.numTokens + 1);
    this.tokenIds[this.numTokens++] = tokenId;
    this.reqIds.push(reqId);
    this.offsets[row + 1] = this.numTokens;
    if (this.rowOf !== null) this.rowOf.set(reqId, row);
  }

  /** Number of rows (requests). */
  get size(): number {
    return this.reqIds.length;
  }

  /**
   * The tokens of `reqId`'s (last) row, as an array.
   * @param reqId a request id
   * @returns the tokens, or undefined when no row has that id
   */
  get(reqId: RequestId): readonly number[] | undefined {
    const row = this.index().get(reqId);
    return row === undefined ? undefined : this.row(row);
  }

  /**
   * True when a row has that id.
   * @param reqId a request id
   */
  has(reqId: RequestId): boolean {
    return this.index().has(reqId);
  }

  /**
   * Calls `callback` per entry of the map view, in row order.
   * @param callback receives the tokens, the id and this map
   * @param thisArg `this` for the callback
   */
  forEach(callback: (value: readonly number[], key: RequestId, map: ReadonlyMap<RequestId, readonly number[]>) => void, thisArg?: unknown): void {
    for (const [id, row] of this.index()) callback.call(thisArg, this.row(row), id, this);
  }

  /** Entries of the map view, in row order. */
  *entries(): MapIterator<[RequestId, readonly number[]]> {
    for (const [id, row] of this.index()) yield [id, this.row(row)];
  }

  /** Ids of the map view, in row order. */
  keys(): MapIterator<RequestId> {
    return this.index().keys();
  }

  /** Token arrays of the map view, in row order. */
  *values(): MapIterator<readonly number[]> {
    for (const row of this.index().values()) yield this.row(row);
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): MapIterator<[RequestId, readonly number[]]> {
    return this.entries();
  }

  private index(): Map<RequestId, number> {
    if (this.rowOf === null) {
      this.rowOf = new Map();
      for (let r = 0; r < this.reqIds.length; r++) this.rowOf.set(this.reqIds[r]!, r);
    }
    return this.rowOf;
  }

  private row(row: number): readonly number[] {
    const rows = (this.rows ??= []);
    let tokens = rows[row];
    if (tokens === undefined) {
      const start = this.offsets[row]!;
      const end = this.offsets[row + 1]!;
      tokens = end === start ? NO_ROW : Array.from(this.tokenIds.subarray(start, end));
      rows[row] = tokens;
    }
    return tokens;
  }
}

function grow(a: Int32Array, atLeast: number): Int32Array {
  const b = new Int32Array(Math.max(atLeast, 2 * a.length));
  b.set(a);
  return b;
}

/**
 * The columns behind `sampledTokenIds` when a runner built it as {@link SampledTokenIds}.
 * @param output a runner's output
 * @returns the columns, or null for a plain map (look tokens up by id then)
 */
export function sampledTokenColumnsOf(output: ModelRunnerOutput): SampledTokenColumns | null {
  const s = output.sampledTokenIds;
  return s instanceof SampledTokenIds ? s : null;
}

/**
 * What the model runner returns for one {@link SchedulerOutput}.
 */
export interface ModelRunnerOutput {
  /**
   * Sampled tokens per scheduled request: one token normally, 1..k+1 with k drafts (accepted
   * drafts then the bonus or recovered token), none for a prefill chunk that does not reach the
   * end of the known tokens. Runners build it as a {@link SampledTokenIds} (columns in batch
   * order, read by schedulers without lookups); any `ReadonlyMap` is accepted.
   */
  readonly sampledTokenIds: ReadonlyMap<RequestId, readonly number[]>;
  /** Per request, one entry per sampled token, when the request asked for logprobs. */
  readonly logprobs: ReadonlyMap<RequestId, readonly TokenLogprobs[]>;
  /** Per request, the prompt logprobs computed this step, when asked for. */
  readonly promptLogprobs: ReadonlyMap<RequestId, PromptLogprobsChunk>;
}
