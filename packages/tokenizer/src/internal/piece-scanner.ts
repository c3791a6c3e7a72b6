import { compileOnigRegex } from './onig-regex.js';
import { GPT2_PATTERN } from './pre-tokenizer.js';

/**
 * Returns the end of the pre-tokenizer match that starts at `pos`. The patterns handled here match at every
 * position, so scanning from 0 with it splits a text exactly as the regex (Isolated) does.
 */
export type ScanPiece = (text: string, pos: number) => number;

const L = 1; // \p{L}
const N = 2; // \p{N}
const WS = 4; // \s (White_Space)
const NL = 8; // \r or \n
const UP = 16; // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
const LO = 32; // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
const CLASSES: [number, string][] = [
  [L, '\\p{L}'],
  [N, '\\p{N}'],
  [WS, '\\s'],
  [NL, '[\\r\\n]'],
  [UP, '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]'],
  [LO, '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]'],
];

// Classes come from the same translated patterns as the regexes, so the two agree character by character.
let bmp: Uint8Array | null = null;
const astral = new Map<number, number>();
let classRegexes: [number, RegExp][] | null = null;

function regexes(): [number, RegExp][] {
  classRegexes ??= CLASSES.map(([bit, p]) => [bit, new RegExp(`^(?:${compileOnigRegex(p).source})$`, 'v')]);
  return classRegexes;
}

function bmpTable(): Uint8Array {
  if (bmp !== null) return bmp;
  const table = new Uint8Array(65536);
  let all = '';
  for (let c = 0; c < 65536; c++) all += c >= 0xd800 && c <= 0xdfff ? ' ' : String.fromCharCode(c);
  for (const [bit, p] of CLASSES) {
    for (const m of all.matchAll(compileOnigRegex(p))) {
      for (let i = m.index; i < m.index + m[0].length; i++) if (i < 0xd800 || i > 0xdfff) table[i]! |= bit;
    }
  }
  bmp = table;
  return table;
}

function astralClass(cp: number): number {
  let k = astral.get(cp);
  if (k === undefined) {
    const ch = String.fromCodePoint(cp);
    k = 0;
    for (const [bit, re] of regexes()) if (re.test(ch)) k |= bit;
    astral.set(cp, k);
  }
  return k;
}

/** Scans a text: the class and width of the character at each position. */
class Chars {
  private readonly table = bmpTable();
  text = '';
  n = 0;
  /** Width (1 or 2 UTF-16 units) of the last character classified by {@link at}. */
  width = 1;

  /** Class bits of the character at `i` (0 past the end); sets {@link width}. */
  at(i: number): number {
    if (i >= this.n) {
      this.width = 0;
      return 0;
    }
    const c = this.text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < this.n) {
      const d = this.text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        this.width = 2;
        return astralClass(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
      }
    }
    this.width = 1;
    return this.table[c]!;
  }

  /** End of the run of characters with any of `bits`, from `i`. */
  run(i: number, bits: number): number {
    while (i < this.n && (this.at(i) & bits) !== 0) i += this.width;
    return i;
  }

  /** End of the run of characters with none of `bits`, from `i`. */
  runNot(i: number, bits: number): number {
    while (i < this.n && (this.at(i) & bits) === 0) i += this.width;
    return i;
  }
}

/** Length of a contraction `'s 't 're 've 'm 'll 'd` at `i` (0 if none); case-insensitive or not. */
function contraction(text: string, i: number, ci: boolean): number {
  if (text.charCodeAt(i) !== 0x27) return 0;
  let a = text.charCodeAt(i + 1);
  let b = text.charCodeAt(i + 2);
  if (ci) {
    if (a === 0x17f) a = 0x73; // ſ folds to s
    a |= a >= 0x41 && a <= 0x5a ? 0x20 : 0;
    b |= b >= 0x41 && b <= 0x5a ? 0x20 : 0;
  }
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

/** The whitespace alternatives `\s*[\r\n]+|\s+(?!\S)|\s+` at `p` (a whitespace character); with `nl` false, the first is skipped. */
function whitespace(ch: Chars, p: number, nl: boolean): number {
  const r = ch.run(p, WS);
  if (nl) {
    for (let k = r - 1; k >= p; k--) if ((ch.at(k) & NL) !== 0) return k + 1;
  }
  if (r === ch.n || r - p < 2) return r;
  return r - 1;
}

function gpt2(ch: Chars): ScanPiece {
  return (text, p) => {
    const c = ch.at(p);
    const k = contraction(text, p, false);
    if (k > 0) return p + k;
    const q = text.charCodeAt(p) === 0x20 ? p + 1 : p;
    const d = q === p ? c : ch.at(q);
    if (q < ch.n) {
      if ((d & L) !== 0) return ch.run(q, L);
      if ((d & N) !== 0) return ch.run(q, N);
      if ((d & (WS | L | N)) === 0) return ch.runNot(q, WS | L | N);
    }
    return whitespace(ch, p, false);
  };
}

function cl100k(ch: Chars, maxDigits: number): ScanPiece {
  return (text, p) => {
    const k = contraction(text, p, true);
    if (k > 0) return p + k;
    const c = ch.at(p);
    const w = ch.width;
    if ((c & L) !== 0) return ch.run(p, L);
    if ((c & (NL | N)) === 0 && (ch.at(p + w) & L) !== 0) return ch.run(p + w, L);
    if ((c & N) !== 0) {
      let e = p;
      for (let i = 0; i < maxDigits && e < ch.n && (ch.at(e) & N) !== 0; i++) e += ch.width;
      return e;
    }
    const q = text.charCodeAt(p) === 0x20 ? p + 1 : p;
    if (q < ch.n && (ch.at(q) & (WS | L | N)) === 0) return ch.run(ch.runNot(q, WS | L | N), NL);
    return whitespace(ch, p, true);
  };
}

/** `[\p{Lu}..]*[\p{Ll}..]+` (lower true) or `[\p{Lu}..]+[\p{Ll}..]*` from `q`, as backtracking finds it; -1 if none. */
function casedWord(ch: Chars, q: number, lower: boolean): number {
  const u = ch.run(q, UP);
  if (lower) {
    if ((ch.at(u) & LO) !== 0) return ch.run(u, LO);
    // Backtrack the upper run to its last character that is also lower-class (Lm, Lo, M).
    let last = -1;
    for (let i = q; i < u; i += ch.width) if ((ch.at(i) & LO) !== 0) last = i + ch.width;
    return last;
  }
  return u === q ? -1 : ch.run(u, LO);
}

function o200k(ch: Chars): ScanPiece {
  return (text, p) => {
    const c = ch.at(p);
    const w = ch.width;
    const prefixed = (c & (NL | L | N)) === 0;
    // The two cased-word alternatives in order, each with its optional prefix character first.
    let e = prefixed ? casedWord(ch, p + w, true) : -1;
    if (e < 0) e = casedWord(ch, p, true);
    if (e < 0 && prefixed) e = casedWord(ch, p + w, false);
    if (e < 0) e = casedWord(ch, p, false);
    if (e >= 0) return e + contraction(text, e, true);
    if ((c & N) !== 0) {
      let e = p;
      for (let i = 0; i < 3 && e < ch.n && (ch.at(e) & N) !== 0; i++) e += ch.width;
      return e;
    }
    const q = text.charCodeAt(p) === 0x20 ? p + 1 : p;
    if (q < ch.n && (ch.at(q) & (WS | L | N)) === 0) {
      let e = ch.runNot(q, WS | L | N);
      while (e < ch.n && (text.charCodeAt(e) === 0x0a || text.charCodeAt(e) === 0x0d || text.charCodeAt(e) === 0x2f)) e++;
      return e;
    }
    return whitespace(ch, p, true);
  };
}

const LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * A hand-written scanner equivalent to one of the pre-tokenizer patterns LLM tokenizers use (GPT-2's;
 * cl100k/Llama 3's and Qwen's; o200k's), or null for any other pattern (the RegExp is used then).
 * @param pattern the Oniguruma pattern from `tokenizer.json`
 * @returns a function `(text, pos) => end` bound to a text by `bind`
 */
export function pieceScanner(pattern: string): ((text: string) => ScanPiece) | null {
  const make = pattern === GPT2_PATTERN ? gpt2 : pattern === LLAMA3 ? (c: Chars) => cl100k(c, 3) : pattern === QWEN ? (c: Chars) => cl100k(c, 1) : pattern === O200K ? o200k : null;
  if (make === null) return null;
  const ch = new Chars();
  const scan = make(ch);
  return (text) => {
    ch.text = text;
    ch.n = text.length;
    return scan;
  };
}
