import { VllmError, type RequestId } from '@vllm-ts/core';
import { preallocated } from './preallocated.js';

/**
 * `SchedulerOutput.numScheduledTokens` as the V1 scheduler builds it: a `Map` whose entries live
 * in two parallel arrays in batch order. Size, iteration and `forEach` read the arrays; the native
 * map is filled on the first `get` / `has`, so a step whose consumers only walk the batch in order
 * (the scheduler and the runner do) never pays a hash insert per request.
 *
 * Read-only for its consumers: `set`, `delete` and `clear` throw VllmError `read_only_output`.
 * To send a step to another thread, copy it first (`new Map(m)`): `structuredClone` copies the
 * native storage only, which holds the entries looked up so far.
 * @internal
 */
export class ScheduledTokens extends Map<RequestId, number> {
  /** Request ids in batch order (slots past `size` are unused while the step is built). */
  readonly ids: RequestId[];
  /** Tokens per request, aligned with `ids`. */
  readonly counts: number[];
  /** Entries pushed (the map's size once sealed). */
  count = 0;
  // Leading entries of `ids` that are in the native map.
  private numIndexed = 0;

  /**
   * @param capacity entries expected: the arrays are allocated at that length up front and
   *   filled by index, so they never regrow while the step is built (more entries still fit)
   */
  constructor(capacity = 0) {
    super();
    this.ids = preallocated<RequestId>(capacity);
    this.counts = preallocated<number>(capacity);
  }

  /** Appends an entry while the step is being built (ids are unique within a step). */
  push(reqId: RequestId, numTokens: number): void {
    this.ids[this.count] = reqId;
    this.counts[this.count] = numTokens;
    this.count++;
  }

  /** Ends the build: drops the unused reserved slots. */
  seal(): void {
    this.ids.length = this.count;
    this.counts.length = this.count;
  }

  /** Removes a request scheduled earlier in the same step (preempted by a later one); O(n), rare. */
  remove(reqId: RequestId): void {
    const at = this.ids.indexOf(reqId);
    if (at < 0 || at >= this.count) return;
    this.ids.splice(at, 1);
    this.counts.splice(at, 1);
    this.count--;
    if (at < this.numIndexed) {
      super.delete(reqId);
      this.numIndexed--;
    }
  }

  override get size(): number {
    return this.count;
  }

  override get(reqId: RequestId): number | undefined {
    if (this.numIndexed < this.count) this.index();
    return super.get(reqId);
  }

  override has(reqId: RequestId): boolean {
    if (this.numIndexed < this.count) this.index();
    return super.has(reqId);
  }

  override forEach(callback: (value: number, key: RequestId, map: Map<RequestId, number>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.count; i++) callback.call(thisArg, this.counts[i]!, this.ids[i]!, this);
  }

  override *keys(): MapIterator<RequestId> {
    for (let i = 0; i < this.count; i++) yield this.ids[i]!;
  }

  override *values(): MapIterator<number> {
    for (let i = 0; i < this.count; i++) yield this.counts[i]!;
  }

  override *entries(): MapIterator<[RequestId, number]> {
    for (let i = 0; i < this.count; i++) yield [this.ids[i]!, this.counts[i]!];
  }

  override [Symbol.iterator](): MapIterator<[RequestId, number]> {
    return this.entries();
  }

  override set(_reqId: RequestId, _numTokens: number): this {
    return readOnly('set');
  }

  override delete(_reqId: RequestId): boolean {
    return readOnly('delete');
  }

  override clear(): void {
    readOnly('clear');
  }

  private index(): void {
    for (let i = this.numIndexed; i < this.count; i++) super.set(this.ids[i]!, this.counts[i]!);
    this.numIndexed = this.count;
  }
}

function readOnly(method: string): never {
  throw new VllmError('read_only_output', `[scheduler-v1] SchedulerOutput.numScheduledTokens is read-only (${method}() called); copy it with new Map(m) to edit`);
}
