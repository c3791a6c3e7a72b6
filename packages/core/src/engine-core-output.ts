import type { FinishReason } from './finish-reason.js';
import { invariant } from './errors.js';
import type { RequestId } from './ids.js';
import type { PromptLogprobsChunk, TokenLogprobs } from './model-runner-output.js';

/** A timestamped lifecycle event, for queue/prefill/decode time metrics. */
export interface RequestEvent {
  readonly type: 'queued' | 'scheduled' | 'preempted';
  /** Seconds on the scheduler's clock. */
  readonly timestamp: number;
}

/**
 * What the scheduler reports for one request after a step: emitted only when the request got new
 * tokens, finished, or has events to report (a partial prefill emits nothing). This is the object
 * view of one row of an {@link EngineCoreOutputBatch}.
 */
export interface EngineCoreOutput {
  /** Id as the runner saw it (a child id for V0 parallel sampling). */
  readonly reqId: RequestId;
  /** Tokens appended this step, after stop truncation. */
  readonly newTokenIds: readonly number[];
  /** Set when the request finished in this step. */
  readonly finishReason: FinishReason | null;
  /** The stop token id that ended it (null for EOS, length, or not finished). */
  readonly stopReason: number | string | null;
  /** Logprobs of `newTokenIds`, when asked for. */
  readonly newLogprobs: readonly TokenLogprobs[] | null;
  /** Prompt logprobs computed this step, when asked for. */
  readonly newPromptLogprobs: PromptLogprobsChunk | null;
  /** Prompt tokens served from the prefix cache when the request was (last) admitted. */
  readonly numCachedTokens: number;
  /** Lifecycle events since the last output for this request. */
  readonly events: readonly RequestEvent[];
}

/**
 * The rare part of a row: anything beyond its tokens and cached-token count. A decode step that
 * neither finishes nor has logprobs or events has none.
 */
export interface EngineCoreOutputExtras {
  /** The row it belongs to. */
  readonly row: number;
  readonly finishReason: FinishReason | null;
  readonly stopReason: number | string | null;
  readonly newLogprobs: readonly TokenLogprobs[] | null;
  readonly newPromptLogprobs: PromptLogprobsChunk | null;
  readonly events: readonly RequestEvent[];
}

/**
 * A step's per-request outputs as columns (plain data, structured-clone safe): row `i < length` is
 * request `reqIds[i]`, its new tokens are `tokenIds[offsets[i] .. offsets[i + 1])`, its cached
 * prompt tokens `numCachedTokens[i]`; rows with a finish reason, logprobs or events have an entry in
 * `extras` (ascending `row`). Every column may be longer than the rows it holds: read `length`.
 */
export interface EngineCoreOutputColumns {
  /** Number of rows. */
  readonly length: number;
  /** Request ids, one per row, in the step's batch order. */
  readonly reqIds: readonly RequestId[];
  /** Row starts in `tokenIds`; `offsets[length]` ends the last row. */
  readonly offsets: Int32Array;
  /** Every row's new tokens, back to back. */
  readonly tokenIds: Int32Array;
  /** Per row, prompt tokens served from the prefix cache at the last admission. */
  readonly numCachedTokens: Int32Array;
  /** The rows that have more than tokens, ascending by row. */
  readonly extras: readonly EngineCoreOutputExtras[];
}

const NO_TOKENS: readonly number[] = Object.freeze([]);
const NO_EVENTS: readonly RequestEvent[] = Object.freeze([]);

/**
 * What `Scheduler.updateFromOutput` returns: a step's per-request outputs stored as
 * {@link EngineCoreOutputColumns}, so a step of a thousand decodes builds no object per request.
 * Consumers on the hot path read the columns; iteration and {@link at} give the
 * {@link EngineCoreOutput} object view, built per call.
 *
 * @example
 * ```ts
 * const outputs = new EngineCoreOutputBatch();
 * outputs.appendOne(requestId('a'), 17, 0);                  // a decode step
 * const row = outputs.append(requestId('b'), [5, 2], 0, 2, 16); // two tokens, 16 cached
 * outputs.setExtras(row, 'stop', null, null, null, []);      // ... and b stopped on EOS
 * for (const o of outputs) console.log(o.reqId, o.newTokenIds, o.finishReason);
 * ```
 */
export class EngineCoreOutputBatch implements EngineCoreOutputColumns, Iterable<EngineCoreOutput> {
  /** Request ids of the rows; slots past {@link length} are reserved room (holes). */
  readonly reqIds: RequestId[];
  offsets: Int32Array;
  tokenIds: Int32Array;
  numCachedTokens: Int32Array;
  readonly extras: EngineCoreOutputExtras[];
  private count = 0;

  /**
   * @param capacity rows to reserve room for (it grows as needed)
   */
  constructor(capacity = 16) {
    const rows = Math.max(1, Math.floor(capacity));
    // oxlint-disable-next-line unicorn/no-new-array -- storage for `rows` ids, filled by index (a push per row regrows it a dozen times)
    this.reqIds = new Array<RequestId>(rows);
    // One allocation for the three columns (an ArrayBuffer costs ~1 µs however small): views of it,
    // which a structured clone copies as one buffer.
    const buffer = new ArrayBuffer(4 * (3 * rows + 1));
    this.offsets = new Int32Array(buffer, 0, rows + 1);
    this.tokenIds = new Int32Array(buffer, 4 * (rows + 1), rows);
    this.numCachedTokens = new Int32Array(buffer, 4 * (2 * rows + 1), rows);
    this.extras = [];
  }

  /**
   * Wraps columns (e.g. received through `postMessage`) without copying them.
   * @param columns a batch's columns
   * @returns a batch over them; appending copies on first growth
   * @throws InternalError when the columns disagree in length
   */
  static fromColumns(columns: EngineCoreOutputColumns): EngineCoreOutputBatch {
    const n = columns.length;
    invariant(
      columns.reqIds.length >= n && columns.offsets.length > n && columns.numCachedTokens.length >= n && columns.tokenIds.length >= columns.offsets[n]!,
      'output columns hold every row they name',
    );
    const b = new EngineCoreOutputBatch(0);
    b.reqIds.length = 0;
    for (let row = 0; row < n; row++) b.reqIds.push(columns.reqIds[row]!);
    b.count = n;
    b.offsets = columns.offsets;
    b.tokenIds = columns.tokenIds;
    b.numCachedTokens = columns.numCachedTokens;
    b.extras.push(...columns.extras);
    return b;
  }

  /**
   * Builds a batch from object-form outputs, in order.
   * @param outputs the outputs
   */
  static from(outputs: Iterable<EngineCoreOutput>): EngineCoreOutputBatch {
    const b = new EngineCoreOutputBatch();
    for (const o of outputs) b.appendOutput(o);
    return b;
  }

  /** Number of rows (requests with news). */
  get length(): number {
    return this.count;
  }

  /** Number of new tokens over all rows. */
  get numTokens(): number {
    return this.offsets[this.count]!;
  }

  /**
   * Appends a row whose tokens are `source[first .. first + count)`.
   * @param reqId the request
   * @param source holds the tokens
   * @param first index of the first token in `source`
   * @param count number of tokens (0 for a row with only a finish or events)
   * @param numCachedTokens prompt tokens the prefix cache served
   * @returns the row's index
   */
  append(reqId: RequestId, source: ArrayLike<number>, first: number, count: number, numCachedTokens: number): number {
    const row = this.count;
    const at = this.offsets[row]!;
    this.reserve(row + 1, at + count);
    const tokens = this.tokenIds;
    for (let k = 0; k < count; k++) tokens[at + k] = source[first + k]!;
    this.setId(row, reqId);
    this.offsets[row + 1] = at + count;
    this.numCachedTokens[row] = numCachedTokens;
    return row;
  }

  /**
   * Appends a row of one token (the decode case).
   * @param reqId the request
   * @param tokenId its new token
   * @param numCachedTokens prompt tokens the prefix cache served
   * @returns the row's index
   */
  appendOne(reqId: RequestId, tokenId: number, numCachedTokens: number): number {
    const row = this.count;
    const at = this.offsets[row]!;
    if (row + 2 > this.offsets.length || at + 1 > this.tokenIds.length || row + 1 > this.numCachedTokens.length) this.reserve(row + 1, at + 1);
    this.tokenIds[at] = tokenId;
    this.setId(row, reqId);
    this.offsets[row + 1] = at + 1;
    this.numCachedTokens[row] = numCachedTokens;
    return row;
  }

  /**
   * Gives the last row its rare fields.
   * @param row the row, which must be the last one appended and have no extras yet
   * @param finishReason set when the request finished in this step
   * @param stopReason the stop token (or string) that ended it
   * @param newLogprobs logprobs of the row's tokens
   * @param newPromptLogprobs prompt logprobs computed this step
   * @param events lifecycle events since the last output
   * @throws InternalError when `row` is not the last row or already has extras
   */
  setExtras(
    row: number,
    finishReason: FinishReason | null,
    stopReason: number | string | null,
    newLogprobs: readonly TokenLogprobs[] | null,
    newPromptLogprobs: PromptLogprobsChunk | null,
    events: readonly RequestEvent[],
  ): void {
    const last = this.extras.length === 0 ? -1 : this.extras[this.extras.length - 1]!.row;
    invariant(row === this.count - 1 && row > last, 'extras are set once, on the last row appended');
    this.extras.push({ row, finishReason, stopReason, newLogprobs, newPromptLogprobs, events });
  }

  /**
   * Appends an object-form output as a row.
   * @param o the output
   */
  appendOutput(o: EngineCoreOutput): void {
    const row = this.append(o.reqId, o.newTokenIds, 0, o.newTokenIds.length, o.numCachedTokens);
    if (o.finishReason !== null || o.newLogprobs !== null || o.newPromptLogprobs !== null || o.events.length > 0) {
      this.setExtras(row, o.finishReason, o.stopReason, o.newLogprobs, o.newPromptLogprobs, o.events);
    }
  }

  /**
   * Appends every row of another batch.
   * @param other the batch to copy rows from
   */
  appendBatch(other: EngineCoreOutputColumns): void {
    let e = 0;
    for (let row = 0; row < other.length; row++) {
      const start = other.offsets[row]!;
      const r = this.append(other.reqIds[row]!, other.tokenIds, start, other.offsets[row + 1]! - start, other.numCachedTokens[row]!);
      const x = other.extras[e];
      if (x !== undefined && x.row === row) {
        this.setExtras(r, x.finishReason, x.stopReason, x.newLogprobs, x.newPromptLogprobs, x.events);
        e++;
      }
    }
  }

  /**
   * A row's new tokens as an array.
   * @param row a row index
   */
  tokensOf(row: number): number[] {
    const start = this.offsets[row]!;
    const end = this.offsets[row + 1]!;
    const out: number[] = [];
    for (let k = start; k < end; k++) out.push(this.tokenIds[k]!);
    return out;
  }

  /**
   * The extras of a row.
   * @param row a row index
   * @returns its extras, or null when it has none
   */
  extrasOf(row: number): EngineCoreOutputExtras | null {
    let lo = 0;
    let hi = this.extras.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.extras[mid]!.row < row) lo = mid + 1;
      else hi = mid;
    }
    const x = this.extras[lo];
    return x !== undefined && x.row === row ? x : null;
  }

  /**
   * The object view of a row (built per call).
   * @param row a row index; negative counts from the end
   * @returns the output, or undefined past the rows
   */
  at(row: number): EngineCoreOutput | undefined {
    const r = row < 0 ? this.count + row : row;
    if (r < 0 || r >= this.count) return undefined;
    return this.view(r, this.extrasOf(r));
  }

  /** The object views of every row, in row order. */
  *[Symbol.iterator](): Iterator<EngineCoreOutput> {
    let e = 0;
    for (let row = 0; row < this.count; row++) {
      const x = this.extras[e];
      if (x !== undefined && x.row === row) {
        e++;
        yield this.view(row, x);
      } else yield this.view(row, null);
    }
  }

  /** The object views of every row, as an array. */
  toArray(): EngineCoreOutput[] {
    return [...this];
  }

  /**
   * The columns trimmed to the rows they hold, as a plain object: what to `postMessage` (a
   * structured clone copies whole typed-array buffers, spare room included). The ids are a copy.
   */
  toColumns(): EngineCoreOutputColumns {
    const n = this.count;
    const t = this.offsets[n]!;
    // NOTE: the ids array was preallocated (holey), which a structured clone writes key by key, ~2.4x
    // slower than a packed array: a packed copy costs less than it saves.
    const reqIds: RequestId[] = [];
    for (let row = 0; row < n; row++) reqIds.push(this.reqIds[row]!);
    return {
      length: n,
      reqIds,
      offsets: this.offsets.length === n + 1 ? this.offsets : this.offsets.slice(0, n + 1),
      tokenIds: this.tokenIds.length === t ? this.tokenIds : this.tokenIds.slice(0, t),
      numCachedTokens: this.numCachedTokens.length === n ? this.numCachedTokens : this.numCachedTokens.slice(0, n),
      extras: this.extras,
    };
  }

  private view(row: number, x: EngineCoreOutputExtras | null): EngineCoreOutput {
    const start = this.offsets[row]!;
    const end = this.offsets[row + 1]!;
    return {
      reqId: this.reqIds[row]!,
      newTokenIds: end === start ? NO_TOKENS : this.tokensOf(row),
      finishReason: x === null ? null : x.finishReason,
      stopReason: x === null ? null : x.stopReason,
      newLogprobs: x === null ? null : x.newLogprobs,
      newPromptLogprobs: x === null ? null : x.newPromptLogprobs,
      numCachedTokens: this.numCachedTokens[row]!,
      events: x === null ? NO_EVENTS : x.events,
    };
  }

  private setId(row: number, reqId: RequestId): void {
    if (row < this.reqIds.length) this.reqIds[row] = reqId;
    else this.reqIds.push(reqId);
    this.count = row + 1;
  }

  private reserve(rows: number, tokens: number): void {
    if (rows + 1 > this.offsets.length) this.offsets = grow(this.offsets, rows + 1);
    if (rows > this.numCachedTokens.length) this.numCachedTokens = grow(this.numCachedTokens, rows);
    if (tokens > this.tokenIds.length) this.tokenIds = grow(this.tokenIds, tokens);
  }
}

function grow(a: Int32Array, atLeast: number): Int32Array {
  const b = new Int32Array(Math.max(atLeast, 2 * a.length));
  b.set(a);
  return b;
}
