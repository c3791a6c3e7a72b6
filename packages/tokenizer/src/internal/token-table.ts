/**
 * Token string to id, as an open-addressing table of ids over the id-to-token array: one Int32Array and no
 * second copy of the strings. Lookups hash the key's UTF-16 units (FNV-1a), so `a + b` can be looked up
 * without building the concatenation.
 */
export class TokenTable {
  /** Slot `s` holds id + 1 at `2s` (0 marks an empty slot) and the token's hash at `2s+1`, so probes past other tokens never touch their strings. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  /** @param tokens the token string of each id (holes allowed; strings must be distinct) */
  constructor(private readonly tokens: readonly (string | undefined)[]) {
    let size = 16;
    while (size < tokens.length * 2) size <<= 1;
    const slots = new Int32Array(size * 2);
    const mask = size - 1;
    for (let id = 0; id < tokens.length; id++) {
      const token = tokens[id];
      if (token === undefined) continue;
      const hash = finish(fnv(token, FNV_OFFSET));
      let h = hash & mask;
      while (slots[2 * h] !== 0) h = (h + 1) & mask;
      slots[2 * h] = id + 1;
      slots[2 * h + 1] = hash;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /** @returns the id of `token`, or -1 */
  get(token: string): number {
    const { slots, mask, tokens } = this;
    const hash = finish(fnv(token, FNV_OFFSET));
    for (let h = hash & mask; slots[2 * h] !== 0; h = (h + 1) & mask) {
      if (slots[2 * h + 1] !== hash) continue;
      const id = slots[2 * h]! - 1;
      if (tokens[id] === token) return id;
    }
    return -1;
  }

  /** @returns the id of the token `a + b`, or -1 */
  getConcat(a: string, b: string): number {
    const { slots, mask, tokens } = this;
    const length = a.length + b.length;
    const hash = finish(fnv(b, fnv(a, FNV_OFFSET)));
    for (let h = hash & mask; slots[2 * h] !== 0; h = (h + 1) & mask) {
      if (slots[2 * h + 1] !== hash) continue;
      const id = slots[2 * h]! - 1;
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
