import { VllmError, type RequestId } from '@vllm-ts/core';

/**
 * `SchedulerOutput.numScheduledTokens` as the V1 scheduler builds it: a `Map` whose entries are
 * also kept in two parallel arrays in batch order, so size, iteration and `forEach` (the runner
 * walks the batch in order) read plain arrays. Every entry is in the native map too, so `get`,
 * `has` and `structuredClone` / `postMessage` see the whole step.
 *
 * Read-only for its consumers: `set`, `delete` and `clear` throw VllmError `read_only_output`.
 * @internal
 */
export class ScheduledTokens extends Map<RequestId, number> {
  private readonly ids: RequestId[] = [];
  private readonly counts: number[] = [];

  /** Appends an entry while the step is being built (ids are unique within a step). */
  push(reqId: RequestId, numTokens: number): void {
    this.ids.push(reqId);
    this.counts.push(numTokens);
    super.set(reqId, numTokens);
  }

  /** Removes a request scheduled earlier in the same step (preempted by a later one); O(n), rare. */
  remove(reqId: RequestId): void {
    const at = this.ids.indexOf(reqId);
    if (at < 0) return;
    this.ids.splice(at, 1);
    this.counts.splice(at, 1);
    super.delete(reqId);
  }

  override get size(): number {
    return this.ids.length;
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
}

function readOnly(method: string): never {
  throw new VllmError('read_only_output', `[scheduler-v1] SchedulerOutput.numScheduledTokens is read-only (${method}() called); copy it with new Map(m) to edit`);
}
