/**
 * Token string to id, as an open-addressing table of ids over the id-to-token array: one Int32Array and no
 * second copy of the strings. Lookups hash the key's UTF-16 units (FNV-1a), so `a + b` can be looked up
 * without building the concatenation.
 */
export class TokenTable {
  /**
   * Slot `s` holds id + 1 at `3s` (0 marks an empty slot), the token's FNV hash at `3s+1` and a second,
   * independent hash at `3s+2`: probes past other tokens never touch their strings.
   */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** True when no two tokens share both hashes, so {@link TokenTable.idOfSpans} may skip the string compare. */
  private readonly hashesDistinct: boolean;

  /** @param tokens the token string of each id (holes allowed; strings must be distinct) */
  constructor(private readonly tokens: readonly (string | undefined)[]) {
    let size = 16;
    while (size < tokens.length * 2) size <<= 1;
    const slots = new Int32Array(size * 3);
    const mask = size - 1;
    let distinct = true;
    for (let id = 0; id < tokens.length; id++) {
      const token = tokens[id];
      if (token === undefined) continue;
      const hash = finish(fnv(token, 0, token.length, FNV_OFFSET));
      const hash2 = avalanche(poly(token, 0, token.length, POLY_SEED));
      let h = hash & mask;
      for (; slots[3 * h] !== 0; h = (h + 1) & mask) if (slots[3 * h + 1] === hash && slots[3 * h + 2] === hash2) distinct = false;
      slots[3 * h] = id + 1;
      slots[3 * h + 1] = hash;
      slots[3 * h + 2] = hash2;
    }
    this.slots = slots;
    this.mask = mask;
    this.hashesDistinct = distinct;
  }

  /** @returns the id of `token`, or -1 */
  get(token: string): number {
    const { slots, mask, tokens } = this;
    const hash = finish(fnv(token, 0, token.length, FNV_OFFSET));
    for (let h = hash & mask; slots[3 * h] !== 0; h = (h + 1) & mask) {
      if (slots[3 * h + 1] !== hash) continue;
      const id = slots[3 * h]! - 1;
      if (tokens[id] === token) return id;
    }
    return -1;
  }

  /**
   * Looks up the token `text[aStart..aEnd) + text[bStart..bEnd)` (give an empty second span for one part),
   * without building the string, for a token the caller expects to be present (a merge's parts while
   * loading). When no two tokens share both 32-bit hashes, a present token is identified by its hashes alone,
   * without reading the stored string (a cache miss per lookup); a string outside the vocabulary then yields
   * -1 unless it collides with a token on both hashes (odds about 2^-64 per token).
   * @returns the id, or -1
   */
  idOfSpans(text: string, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
    const { slots, mask, tokens } = this;
    const hash = finish(fnv(text, bStart, bEnd, fnv(text, aStart, aEnd, FNV_OFFSET)));
    const hash2 = avalanche(poly(text, bStart, bEnd, poly(text, aStart, aEnd, POLY_SEED)));
    for (let h = hash & mask; slots[3 * h] !== 0; h = (h + 1) & mask) {
      if (slots[3 * h + 1] !== hash || slots[3 * h + 2] !== hash2) continue;
      const id = slots[3 * h]! - 1;
      if (this.hashesDistinct || spansEqual(tokens[id]!, text, aStart, aEnd, bStart, bEnd)) return id;
    }
    return -1;
  }

  /** @returns the id of the token `a + b`, or -1 */
  getConcat(a: string, b: string): number {
    const { slots, mask, tokens } = this;
    const length = a.length + b.length;
    const hash = finish(fnv(b, 0, b.length, fnv(a, 0, a.length, FNV_OFFSET)));
    for (let h = hash & mask; slots[3 * h] !== 0; h = (h + 1) & mask) {
      if (slots[3 * h + 1] !== hash) continue;
      const id = slots[3 * h]! - 1;
      const t = tokens[id]!;
      if (t.length === length && t.startsWith(a) && t.endsWith(b)) return id;
    }
    return -1;
  }
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const POLY_SEED = 0x27d4eb2f;

/** FNV-1a over the UTF-16 units of `s[start..end)`, continuing from `h`, so hashing two parts equals hashing their concatenation. */
function fnv(s: string, start: number, end: number, h: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** A polynomial hash over `s[start..end)` continuing from `h` (chains like {@link fnv}; independent of its bits). */
function poly(s: string, start: number, end: number, h: number): number {
  for (let i = start; i < end; i++) h = (Math.imul(h, 0x5bd1e995) + s.charCodeAt(i)) | 0;
  return h;
}

/** Murmur3's finaliser, for {@link poly}'s second hash. */
function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** @returns true when `token` equals `text[aStart..aEnd) + text[bStart..bEnd)` */
export function spansEqual(token: string, text: string, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  const la = aEnd - aStart;
  if (token.length !== la + bEnd - bStart) return false;
  for (let i = 0; i < la; i++) if (token.charCodeAt(i) !== text.charCodeAt(aStart + i)) return false;
  for (let i = la; i < token.length; i++) if (token.charCodeAt(i) !== text.charCodeAt(bStart + i - la)) return false;
  return true;
}

/** Final avalanche, so the low bits used as the slot index depend on every character. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return h ^ (h >>> 16);
}
