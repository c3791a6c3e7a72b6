/**
 * Open-addressing hash table from a pair of token ids to a merge: its rank and the id it produces.
 * Four parallel Int32Arrays, so a 450k-merge table costs about 16 MB and no per-entry objects.
 */
export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  /** Merge rank per slot; -1 marks an empty slot. */
  readonly rank: Int32Array;
  /** Id of the merged token per slot. */
  readonly merged: Int32Array;
  private readonly mask: number;

  /** @param capacityHint the number of merges that will be inserted */
  constructor(capacityHint: number) {
    let size = 16;
    while (size < capacityHint * 2) size <<= 1;
    this.left = new Int32Array(size);
    this.right = new Int32Array(size);
    this.rank = new Int32Array(size).fill(-1);
    this.merged = new Int32Array(size);
    this.mask = size - 1;
  }

  private slotOf(a: number, b: number): number {
    // Mix both ids into every bit before masking: the low bits of a plain product depend only on the ids' low bits.
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = (h ^ (h >>> 12)) & this.mask;
    const { rank, left, right, mask } = this;
    while (rank[h] !== -1 && (left[h] !== a || right[h] !== b)) h = (h + 1) & mask;
    return h;
  }

  /** Inserts a merge unless the pair is already present (the first, lowest rank wins, as in HF). */
  set(a: number, b: number, rank: number, merged: number): void {
    const h = this.slotOf(a, b);
    if (this.rank[h] !== -1) return;
    this.left[h] = a;
    this.right[h] = b;
    this.rank[h] = rank;
    this.merged[h] = merged;
  }

  /** @returns the slot holding the merge of (a, b), or -1 when they do not merge */
  find(a: number, b: number): number {
    const h = this.slotOf(a, b);
    return this.rank[h] === -1 ? -1 : h;
  }
}

const SMALL = 48;
const POS_SCALE = 4294967296;

/**
 * Applies BPE merges in place to `syms[0..n)`: repeatedly merges the adjacent pair of lowest rank, leftmost
 * first on ties (HF's order). Short words scan; long ones use a heap and a linked list, so a 1M-symbol word
 * stays O(n log n).
 * @returns the number of symbols left in `syms`
 */
export function mergeSymbols(table: PairTable, syms: Int32Array, n: number): number {
  return n <= SMALL ? mergeSmall(table, syms, n) : mergeLarge(table, syms, n);
}

function mergeSmall(table: PairTable, syms: Int32Array, n: number): number {
  const { rank, merged } = table;
  while (n > 1) {
    let best = 0x7fffffff;
    let bestPos = -1;
    let bestSlot = -1;
    for (let i = 0; i < n - 1; i++) {
      const slot = table.find(syms[i]!, syms[i + 1]!);
      if (slot >= 0 && rank[slot]! < best) {
        best = rank[slot]!;
        bestPos = i;
        bestSlot = slot;
      }
    }
    if (bestPos < 0) break;
    syms[bestPos] = merged[bestSlot]!;
    syms.copyWithin(bestPos + 1, bestPos + 2, n);
    n--;
  }
  return n;
}

function mergeLarge(table: PairTable, syms: Int32Array, n: number): number {
  const { rank, merged } = table;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // Min-heap of rank * 2^32 + position (exact in a double: ranks < 2^21).
  let heap = new Float64Array(n);
  let size = 0;
  const push = (key: number): void => {
    if (size === heap.length) {
      const grown = new Float64Array(heap.length * 2);
      grown.set(heap);
      heap = grown;
    }
    let i = size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]! <= key) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && heap[c + 1]! < heap[c]!) c++;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  };
  for (let i = 0; i + 1 < n; i++) {
    const slot = table.find(syms[i]!, syms[i + 1]!);
    if (slot >= 0) push(rank[slot]! * POS_SCALE + i);
  }
  while (size > 0) {
    const key = pop();
    const r = Math.floor(key / POS_SCALE);
    const pos = key - r * POS_SCALE;
    const nx = next[pos]!;
    // Stale entry: the symbol was absorbed, or its pair changed since the push.
    if (syms[pos] === -1 || nx === -1) continue;
    const slot = table.find(syms[pos]!, syms[nx]!);
    if (slot < 0 || rank[slot] !== r) continue;
    syms[pos] = merged[slot]!;
    syms[nx] = -1;
    const after = next[nx]!;
    next[pos] = after;
    if (after !== -1) prev[after] = pos;
    const before = prev[pos]!;
    if (before !== -1) {
      const s = table.find(syms[before]!, syms[pos]!);
      if (s >= 0) push(rank[s]! * POS_SCALE + before);
    }
    if (after !== -1) {
      const s = table.find(syms[pos]!, syms[after]!);
      if (s >= 0) push(rank[s]! * POS_SCALE + pos);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (syms[i] !== -1) syms[m++] = syms[i]!;
  return m;
}
