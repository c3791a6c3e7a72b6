/**
 * Open-addressing hash table from a pair of token ids to a merge: its rank and the id it produces.
 * One Int32Array of four-int slots (left, right, rank, merged), so a probe touches one cache line and a
 * 450k-merge table costs 16 MB with no per-entry objects.
 */
export class PairTable {
  /** Slot `s` holds left, right, rank, merged at `4s`..`4s+3`; rank -1 marks an empty slot. */
  readonly data: Int32Array;
  private readonly mask: number;

  /** @param capacityHint the number of merges that will be inserted */
  constructor(capacityHint: number) {
    let size = 16;
    while (size < capacityHint * 2) size <<= 1;
    this.data = new Int32Array(size * 4);
    for (let s = 2; s < this.data.length; s += 4) this.data[s] = -1;
    this.mask = size - 1;
  }

  /** @returns the offset in {@link PairTable.data} of the slot holding (a, b), or of the empty slot where it would go */
  private slotOf(a: number, b: number): number {
    // Mix both ids into every bit before masking: the low bits of a plain product depend only on the ids' low bits.
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = (h ^ (h >>> 12)) & this.mask;
    const { data, mask } = this;
    while (data[4 * h + 2] !== -1 && (data[4 * h] !== a || data[4 * h + 1] !== b)) h = (h + 1) & mask;
    return 4 * h;
  }

  /** Inserts a merge unless the pair is already present (the first, lowest rank wins, as in HF). */
  set(a: number, b: number, rank: number, merged: number): void {
    const s = this.slotOf(a, b);
    const data = this.data;
    if (data[s + 2] !== -1) return;
    data[s] = a;
    data[s + 1] = b;
    data[s + 2] = rank;
    data[s + 3] = merged;
  }

  /** @returns the offset of the slot holding the merge of (a, b) (its rank at +2, merged id at +3), or -1 */
  find(a: number, b: number): number {
    const s = this.slotOf(a, b);
    return this.data[s + 2] === -1 ? -1 : s;
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
  const data = table.data;
  while (n > 1) {
    let best = 0x7fffffff;
    let bestPos = -1;
    let bestSlot = -1;
    for (let i = 0; i < n - 1; i++) {
      const slot = table.find(syms[i]!, syms[i + 1]!);
      if (slot >= 0 && data[slot + 2]! < best) {
        best = data[slot + 2]!;
        bestPos = i;
        bestSlot = slot;
      }
    }
    if (bestPos < 0) break;
    syms[bestPos] = data[bestSlot + 3]!;
    syms.copyWithin(bestPos + 1, bestPos + 2, n);
    n--;
  }
  return n;
}

function mergeLarge(table: PairTable, syms: Int32Array, n: number): number {
  const data = table.data;
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
    if (slot >= 0) push(data[slot + 2]! * POS_SCALE + i);
  }
  while (size > 0) {
    const key = pop();
    const r = Math.floor(key / POS_SCALE);
    const pos = key - r * POS_SCALE;
    const nx = next[pos]!;
    // Stale entry: the symbol was absorbed, or its pair changed since the push.
    if (syms[pos] === -1 || nx === -1) continue;
    const slot = table.find(syms[pos]!, syms[nx]!);
    if (slot < 0 || data[slot + 2] !== r) continue;
    syms[pos] = data[slot + 3]!;
    syms[nx] = -1;
    const after = next[nx]!;
    next[pos] = after;
    if (after !== -1) prev[after] = pos;
    const before = prev[pos]!;
    if (before !== -1) {
      const s = table.find(syms[before]!, syms[pos]!);
      if (s >= 0) push(data[s + 2]! * POS_SCALE + before);
    }
    if (after !== -1) {
      const s = table.find(syms[pos]!, syms[after]!);
      if (s >= 0) push(data[s + 2]! * POS_SCALE + pos);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (syms[i] !== -1) syms[m++] = syms[i]!;
  return m;
}
