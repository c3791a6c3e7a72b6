import type { BlockId } from '@vllm-ts/core';
import { BlockError } from './block-error.js';

/**
 * The queue of free blocks: an intrusive doubly linked list over block ids `0..capacity-1`, stored
 * in two `Int32Array`s with one sentinel, so every operation is O(1) and allocates nothing.
 *
 * Order is the eviction order: the head is evicted first. Whoever frees blocks keeps it an LRU by
 * appending at the tail in the order the blocks should be evicted (V1 frees a request tail first),
 * and by removing a block from the middle when a cache hit reuses it.
 *
 * @example
 * ```ts
 * const q = new FreeBlockQueue(4);        // holds 0, 1, 2, 3
 * q.popFront();                          // 0
 * q.remove(blockId(2));                  // holds 1, 3
 * q.append(blockId(0));                  // holds 1, 3, 0
 * ```
 */
export class FreeBlockQueue {
  /** Number of ids the queue can hold (ids are `0..capacity-1`). */
  readonly capacity: number;
  // Slot `capacity` is the sentinel: next[sentinel] is the head, prev[sentinel] the tail.
  // A member's prev/next are ids or the sentinel; a non-member has prev = next = -1.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private count = 0;

  /**
   * @param capacity number of block ids (`0..capacity-1`)
   * @param filled start with every id queued in ascending order (default) or empty
   * @throws BlockError (`invalid_block_count`) when capacity is not a non-negative integer
   */
  constructor(capacity: number, filled = true) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new BlockError('invalid_block_count', `[block-allocator] capacity must be an integer >= 0 (got ${capacity})`);
    }
    this.capacity = capacity;
    this.prev = new Int32Array(capacity + 1).fill(-1);
    this.next = new Int32Array(capacity + 1).fill(-1);
    this.prev[capacity] = capacity;
    this.next[capacity] = capacity;
    if (filled) for (let id = 0; id < capacity; id++) this.append(id as BlockId);
  }

  /** Number of queued blocks. */
  get length(): number {
    return this.count;
  }

  /**
   * True when `id` is queued.
   * @param id a block id
   */
  has(id: BlockId): boolean {
    return id >= 0 && id < this.capacity && this.next[id] !== -1;
  }

  /** The head (next to be evicted), or null when empty. */
  peekFront(): BlockId | null {
    const head = this.next[this.capacity]!;
    return head === this.capacity ? null : (head as BlockId);
  }

  /**
   * Removes and returns the head.
   * @throws BlockError (`free_queue_empty`) when the queue is empty
   */
  popFront(): BlockId {
    const head = this.next[this.capacity]!;
    if (head === this.capacity) {
      throw new BlockError('free_queue_empty', '[block-allocator] popFront() on an empty free queue; check length first');
    }
    this.unlink(head);
    return head as BlockId;
  }

  /**
   * Removes the first `n` blocks and writes them, head first, into `out` from index `offset`.
   * @param n how many to pop (at most `length`)
   * @param out destination array (grown as needed)
   * @param offset first index of `out` to write
   * @throws BlockError (`free_queue_empty`) when fewer than `n` blocks are queued
   */
  popFrontN(n: number, out: BlockId[], offset = 0): void {
    if (n > this.count) {
      throw new BlockError('free_queue_empty', `[block-allocator] popFrontN(${n}) with only ${this.count} blocks queued`);
    }
    // Appending (the usual call) pushes: a store past the end of an empty array by a computed index
    // is a generic keyed store in optimized code (it converts the index to a string).
    const append = offset === out.length;
    for (let i = 0; i < n; i++) {
      const head = this.next[this.capacity]!;
      this.unlink(head);
      if (append) out.push(head as BlockId);
      else out[offset + i] = head as BlockId;
    }
  }

  /**
   * Appends `id` at the tail (evicted last).
   * @param id a block id not already queued
   * @throws BlockError (`unknown_block` / `already_free`) for an out-of-range or queued id
   */
  append(id: BlockId): void {
    this.checkId(id);
    if (this.next[id] !== -1) throw new BlockError('already_free', `[block-allocator] block ${id} is already in the free queue`, id);
    const sentinel = this.capacity;
    const tail = this.prev[sentinel]!;
    this.prev[id] = tail;
    this.next[id] = sentinel;
    this.next[tail] = id;
    this.prev[sentinel] = id;
    this.count++;
  }

  /**
   * Removes `id` from wherever it is in the queue.
   * @param id a queued block id
   * @throws BlockError (`unknown_block` / `not_free`) for an out-of-range or unqueued id
   */
  remove(id: BlockId): void {
    this.checkId(id);
    if (this.next[id] === -1) throw new BlockError('not_free', `[block-allocator] block ${id} is not in the free queue`, id);
    this.unlink(id);
  }

  /** The queued ids, head first (O(n); for tests and debugging). */
  toArray(): BlockId[] {
    const out: BlockId[] = [];
    for (let id = this.next[this.capacity]!; id !== this.capacity; id = this.next[id]!) out.push(id as BlockId);
    return out;
  }

  private unlink(id: number): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    this.next[p] = n;
    this.prev[n] = p;
    this.prev[id] = -1;
    this.next[id] = -1;
    this.count--;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.capacity) {
      throw new BlockError('unknown_block', `[block-allocator] block id must be an integer in [0, ${this.capacity}) (got ${id})`, id);
    }
  }
}
