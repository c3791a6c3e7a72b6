/**
 * Token string to id, as an open-addressing table of ids over the id-to-token array: one Int32Array and no
 * second copy of the strings. Lookups hash the key's UTF-16 units (FNV-1a), so `a + b` can be looked up
 * without building the concatenation.
 */
export class TokenTable {
  /** id + 1 per slot; 0 marks an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  /** @param tokens the token string of each id (holes allowed; strings must be distinct) */
  constructor(private readonly tokens: readonly (string | undefined)[]) {
    let size = 16;
    while (size < tokens.length * 2) size <<= 1;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let id = 0; id < tokens.length; id++) {
      const token = tokens[id];
      if (token === undefined) continue;
      let h = finish(fnv(token, FNV_OFFSET)) & this.mask;
      while (this.slots[h] !== 0) h = (h + 1) & this.mask;
      this.slots[h] = id + 1;
    }
  }

  /** @returns the id of `token`, or -1 */
  get(token: string): number {
    const { slots, mask, tokens } = this;
    for (let h = finish(fnv(token, FNV_OFFSET)) & mask; slots[h] !== 0; h = (h + 1) & mask) {
      const id = slots[h]! - 1;
      if (tokens[id] === token) return id;
    }
    return -1;
  }

  /** @returns the id of the token `a + b`, or -1 */
  getConcat(a: string, b: string): number {
    const { slots, mask, tokens } = this;
    const length = a.length + b.length;
    for (let h = finish(fnv(b, fnv(a, FNV_OFFSET))) & mask; slots[h] !== 0; h = (h + 1) & mask) {
      const id = slots[h]! - 1;
      const t = tokens[id]!;
      if (t.length === length && t.startsWith(a) && t.endsWith(b)) return id;
    }
    return -1;
  }
}

const FNV_OFFSET = 0x811c9dc5 | 0;

/** FNV-1a over UTF-16 units, continuing from `h`: fnv(b, fnv(a, h)) === fnv(a + b, h). */
function fnv(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Final avalanche, so the low bits used as the slot index depend on every character. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return h ^ (h >>> 16);
}
