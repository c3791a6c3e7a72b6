import { VllmError, type RequestId } from '@vllm-ts/core';

/**
 * `SchedulerOutput.numScheduledTokens` as the V1 scheduler builds it: a `Map` whose entries live
 * in two parallel arrays in batch order. Size, iteration and `forEach` read the arrays; the
 * native map is filled only on the first `get`/`has`, so a step whose consumer only iterates (the
 * runner walks the batch in order) pays for no hashing at all.
 *
 * Read-only for its consumers: `set`, `delete` and `clear` throw VllmError `read_only_output`. Not for `structuredClone` (a clone
 * sees only the entries indexed so far); copy it with `new Map(m)` first.
 * @internal
 */
export class ScheduledTokens extends Map<RequestId, number> {
  private readonly ids: RequestId[] = [];
  private readonly counts: number[] = [];
  // True once every entry is also in the native map.
  private indexed = false;

  /** Appends an entry while the step is being built (ids are unique within a step). */
  push(reqId: RequestId, numTokens: number): void {
    this.ids.push(reqId);
    this.counts.push(numTokens);
    if (this.indexed) super.set(reqId, numTokens);
  }

  /** Removes a request scheduled earlier in the same step (preempted by a later one); O(n), rare. */
  remove(reqId: RequestId): void {
    const at = this.ids.indexOf(reqId);
    if (at < 0) return;
    this.ids.splice(at, 1);
    this.counts.splice(at, 1);
    if (this.indexed) super.delete(reqId);
  }

  override get size(): number {
    return this.ids.length;
  }

  override get(reqId: RequestId): number | undefined {
    if (!this.indexed) this.index();
    return super.get(reqId);
  }

  override has(reqId: RequestId): boolean {
    if (!this.indexed) this.index();
    return super.has(reqId);
  }

  override forEach(callback: (value: number, key: RequestId, map: Map<RequestId, number>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.ids.length; i++) callback.call(thisArg, this.counts[i]!, this.ids[i]!, this);
  }

  override keys(): MapIterator<RequestId> {
    return this.ids.values();
  }

  override values(): MapIterator<number> {
    return this.counts.values();
  }

  override entries(): MapIterator<[RequestId, number]> {
    const pairs: [RequestId, number][] = [];
    for (let i = 0; i < this.ids.length; i++) pairs.push([this.ids[i]!, this.counts[i]!]);
    return pairs.values();
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
    for (let i = 0; i < this.ids.length; i++) super.set(this.ids[i]!, this.counts[i]!);
    this.indexed = true;
  }
}

function readOnly(method: string): never {
  throw new VllmError('read_only_output', `[scheduler-v1] SchedulerOutput.numScheduledTokens is read-only (${method}() called); copy it with new Map(m) to edit`);
}
