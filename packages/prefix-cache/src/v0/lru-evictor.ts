import { invariant, type BlockId } from '@vllm-ts/core';

/**
 * V0's evictor (`vllm/core/evictor.py`): the cached blocks nobody holds, evicted by last access
 * time, oldest first; among equal times the block covering more tokens (the deeper one) first.
 *
 * A binary min-heap with lazy deletion: `remove` only clears membership, and stale heap entries
 * are skipped when popped. The heap is rebuilt from the members when stale entries outnumber them
 * 50 to 1, so memory stays bounded.
 */
export class LruEvictor {
  private readonly member: Uint8Array;
  private readonly lastAccess: Float64Array;
  private readonly numHashedTokens: Float64Array;
  private readonly stamp: Uint32Array;
  // Heap entries: block id, the stamp it was pushed with (stale once the block's stamp moved on)
  // and its key at that time.
  private heap = { id: [] as number[], stamp: [] as number[], time: [] as number[], depth: [] as number[] };
  private count = 0;

  /** @param capacity number of block ids (`0..capacity-1`) */
  constructor(capacity: number) {
    this.member = new Uint8Array(capacity);
    this.lastAccess = new Float64Array(capacity);
    this.numHashedTokens = new Float64Array(capacity);
    this.stamp = new Uint32Array(capacity);
  }

  /** Blocks that can be evicted. */
  get size(): number {
    return this.count;
  }

  /**
   * True when `id` is evictable.
   * @param id a block id
   */
  has(id: BlockId): boolean {
    return this.member[id] === 1;
  }

  /**
   * Makes `id` evictable.
   * @param id a cached block no one holds
   * @param lastAccess when a sequence last used it
   * @param numHashedTokens tokens of the prefix its hash covers
   */
  add(id: BlockId, lastAccess: number, numHashedTokens: number): void {
    invariant(this.member[id] === 0, () => `block ${id} added to the evictor twice`);
    this.member[id] = 1;
    this.lastAccess[id] = lastAccess;
    this.numHashedTokens[id] = numHashedTokens;
    this.stamp[id]!++;
    this.count++;
    this.push(id, this.stamp[id]!);
    if (this.heap.id.length > 50 * Math.max(this.count, 16)) this.rebuild();
  }

  /**
   * Takes `id` out (a cache hit revives it). No-op when it is not evictable.
   * @param id a block id
   */
  remove(id: BlockId): void {
    if (this.member[id] === 0) return;
    this.member[id] = 0;
    this.stamp[id]!++;
    this.count--;
  }

  /** Removes and returns the block to evict next, or null when empty. */
  evict(): BlockId | null {
    while (this.heap.id.length > 0) {
      const id = this.heap.id[0]!;
      const s = this.heap.stamp[0]!;
      this.popTop();
      if (this.member[id] === 1 && this.stamp[id] === s) {
        this.remove(id as BlockId);
        return id as BlockId;
      }
    }
    return null;
  }

  /** Evictable blocks in eviction order. O(n log n); for tests and debugging. */
  toArray(): BlockId[] {
    const ids: BlockId[] = [];
    for (let id = 0; id < this.member.length; id++) if (this.member[id] === 1) ids.push(id as BlockId);
    const key = (id: number) => [this.lastAccess[id]!, -this.numHashedTokens[id]!, id] as const;
    return ids.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
    });
  }

  // Heap order on entries (not blocks): a re-added block's old entry keeps its old key.
  private less(i: number, j: number): boolean {
    const h = this.heap;
    if (h.time[i] !== h.time[j]) return h.time[i]! < h.time[j]!;
    if (h.depth[i] !== h.depth[j]) return h.depth[i]! > h.depth[j]!;
    return h.id[i]! < h.id[j]!;
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    for (const a of [h.id, h.stamp, h.time, h.depth]) [a[i], a[j]] = [a[j]!, a[i]!];
  }

  private push(id: number, s: number): void {
    const h = this.heap;
    let i = h.id.length;
    h.id.push(id);
    h.stamp.push(s);
    h.time.push(this.lastAccess[id]!);
    h.depth.push(this.numHashedTokens[id]!);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private popTop(): void {
    const h = this.heap;
    const last = h.id.length - 1;
    this.swap(0, last);
    for (const a of [h.id, h.stamp, h.time, h.depth]) a.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private rebuild(): void {
    this.heap = { id: [], stamp: [], time: [], depth: [] };
    for (let id = 0; id < this.member.length; id++) if (this.member[id] === 1) this.push(id, this.stamp[id]!);
  }
}
