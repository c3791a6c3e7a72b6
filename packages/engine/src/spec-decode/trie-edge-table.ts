const EMPTY = -1;

/**
 * The edges of an integer trie, `(parent node, token) -> child node`, in one open-addressing hash
 * table of typed arrays (linear probing, load kept at or below 1/2). No per-edge objects and no
 * heap numbers, unlike a `Map` keyed by a packed 53-bit integer.
 *
 * @internal
 */
export class TrieEdgeTable {
  private parents: Int32Array;
  private tokens: Int32Array;
  private children: Int32Array;
  private mask: number;
  private count = 0;

  /** @param capacityHint edges expected (the table grows past it) */
  constructor(capacityHint = 64) {
    let cap = 16;
    while (cap < capacityHint * 2) cap *= 2;
    this.parents = new Int32Array(cap).fill(EMPTY);
    this.tokens = new Int32Array(cap);
    this.children = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Edges stored. */
  get size(): number {
    return this.count;
  }

  /**
   * The child of `parent` along `token`.
   * @returns the child node, or -1 when there is no such edge
   */
  get(parent: number, token: number): number {
    const parents = this.parents;
    for (let slot = hash(parent, token) & this.mask; ; slot = (slot + 1) & this.mask) {
      const p = parents[slot]!;
      if (p === EMPTY) return EMPTY;
      if (p === parent && this.tokens[slot] === token) return this.children[slot]!;
    }
  }

  /**
   * The child of `parent` along `token`, adding the edge to `child` first when there is none.
   * @returns the existing child, or `child` when the edge was added
   */
  findOrInsert(parent: number, token: number, child: number): number {
    if ((this.count + 1) * 2 > this.parents.length) this.grow();
    const parents = this.parents;
    let slot = hash(parent, token) & this.mask;
    for (let p = parents[slot]!; p !== EMPTY; slot = (slot + 1) & this.mask, p = parents[slot]!) {
      if (p === parent && this.tokens[slot] === token) return this.children[slot]!;
    }
    parents[slot] = parent;
    this.tokens[slot] = token;
    this.children[slot] = child;
    this.count++;
    return child;
  }

  private place(parent: number, token: number, child: number): void {
    let slot = hash(parent, token) & this.mask;
    while (this.parents[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.parents[slot] = parent;
    this.tokens[slot] = token;
    this.children[slot] = child;
  }

  private grow(): void {
    const { parents, tokens, children } = this;
    const cap = parents.length * 2;
    this.parents = new Int32Array(cap).fill(EMPTY);
    this.tokens = new Int32Array(cap);
    this.children = new Int32Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < parents.length; i++) if (parents[i] !== EMPTY) this.place(parents[i]!, tokens[i]!, children[i]!);
  }
}

function hash(parent: number, token: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(token, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
