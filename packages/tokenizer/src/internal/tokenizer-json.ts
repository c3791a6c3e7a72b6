import { malformed } from '../errors.js';
import { detach } from './byte-level.js';
import { MergeListBuilder, type MergeList } from './merge-list.js';

/** The model's vocabulary and merges, read from the text of `tokenizer.json` without building JSON objects. */
export interface ModelTables {
  /** Token string per id (holes where the vocabulary skips ids). */
  readonly idToToken: (string | undefined)[];
  /** The merges, in rank order. */
  readonly merges: MergeList;
}

/** A parsed `tokenizer.json`: everything but the big tables through `JSON.parse`, the tables read directly. */
export interface ParsedTokenizerJson {
  readonly json: Record<string, any>;
  /** Null when the text's layout was not recognised; `json.model` then holds `vocab` and `merges` as usual. */
  readonly tables: ModelTables | null;
}

const WS = new Uint8Array(128);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;

class Reader {
  i = 0;
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    while (this.i < t.length && WS[t.charCodeAt(this.i)] === 1) this.i++;
  }

  expect(ch: string): void {
    this.ws();
    if (this.text.charCodeAt(this.i) !== ch.charCodeAt(0)) malformed(`expected "${ch}" at offset ${this.i}`, this.text.slice(this.i, this.i + 30));
    this.i++;
  }

  /** Reads a JSON string starting at the current quote. */
  string(): string {
    const t = this.text;
    if (t.charCodeAt(this.i) !== 0x22) malformed(`expected a string at offset ${this.i}`, t.slice(this.i, this.i + 30));
    const start = this.i + 1;
    // Nearly every string has no escape: one pass finds its end, and it is sliced as is.
    let k = start;
    for (let c = t.charCodeAt(k); c !== 0x22; c = t.charCodeAt(++k)) {
      if (c === 0x5c) return this.escapedString(start);
      if (Number.isNaN(c)) malformed('unterminated string', t.slice(start, start + 30));
    }
    this.i = k + 1;
    return t.slice(start, k);
  }

  /** Reads a JSON string holding escapes, from just after its opening quote. */
  private escapedString(start: number): string {
    const t = this.text;
    let end = t.indexOf('"', start);
    for (;;) {
      if (end < 0) malformed('unterminated string', t.slice(start, start + 30));
      let slashes = 0;
      while (t.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
      if (slashes % 2 === 0) break;
      end = t.indexOf('"', end + 1);
    }
    this.i = end + 1;
    const raw = t.slice(start, end);
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  /** Skips any JSON value. */
  skip(): void {
    this.ws();
    const t = this.text;
    const c = t[this.i];
    if (c === '"') {
      this.string();
      return;
    }
    if (c === '{' || c === '[') {
      let depth = 0;
      while (this.i < t.length) {
        const d = t[this.i];
        if (d === '"') {
          this.string();
          continue;
        }
        if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') depth--;
        this.i++;
        if (depth === 0) return;
      }
      malformed('unterminated object or array', t.slice(0, 30));
    }
    while (this.i < t.length && !',}] \t\n\r'.includes(t[this.i]!)) this.i++;
  }

  /** Iterates the keys of the object at the current position, leaving the reader at each value. */
  *keys(): Generator<string> {
    this.expect('{');
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.expect(':');
      this.ws();
      yield key;
      this.ws();
      const c = this.text[this.i++];
      if (c === '}') return;
      if (c !== ',') malformed(`expected "," or "}" at offset ${this.i - 1}`, this.text.slice(this.i - 1, this.i + 30));
    }
  }

  vocab(): (string | undefined)[] {
    const out: (string | undefined)[] = [];
    const t = this.text;
    for (const key of this.keys()) {
      let id = 0;
      let digits = 0;
      for (let c = t.charCodeAt(this.i); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++this.i), digits++) id = id * 10 + (c - 0x30);
      if (digits === 0) malformed(`model.vocab[${JSON.stringify(key)}] must be a non-negative integer id`, t.slice(this.i, this.i + 20));
      out[id] = detach(key);
    }
    return out;
  }

  /** Adds the JSON string at the current quote to `out`: as a span of the text unless it holds escapes. */
  private stringInto(out: MergeListBuilder): void {
    const t = this.text;
    const start = this.i + 1;
    let k = start;
    if (t.charCodeAt(this.i) === 0x22) {
      for (let c = t.charCodeAt(k); c !== 0x22; c = t.charCodeAt(++k)) {
        if (c === 0x5c || Number.isNaN(c)) {
          out.string(this.string());
          return;
        }
      }
      this.i = k + 1;
      out.span(start, k);
    } else out.string(this.string());
  }

  /** Adds a `"left right"` merge to `out`: two spans of the text unless it holds escapes. */
  private spacedInto(out: MergeListBuilder): void {
    const t = this.text;
    const start = this.i + 1;
    let space = -1;
    let k = start;
    for (let c = t.charCodeAt(k); c !== 0x22; c = t.charCodeAt(++k)) {
      if (c === 0x5c || Number.isNaN(c)) {
        const merge = this.string();
        const at = merge.indexOf(' ', 1);
        if (at < 0) malformed(`merge ${out.length / 2} must be "left right"`, merge);
        out.string(merge.slice(0, at));
        out.string(merge.slice(at + 1));
        return;
      }
      if (c === 0x20 && space < 0 && k > start) space = k;
    }
    if (space < 0) malformed(`merge ${out.length / 2} must be "left right"`, t.slice(start, k));
    out.span(start, space);
    out.span(space + 1, k);
    this.i = k + 1;
  }

  merges(): MergeList {
    const out = new MergeListBuilder(this.text);
    const t = this.text;
    this.expect('[');
    this.ws();
    if (t.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return out.finish();
    }
    for (;;) {
      this.ws();
      const open = t.charCodeAt(this.i);
      if (open === 0x5b) {
        this.i++;
        this.ws();
        this.stringInto(out);
        this.expect(',');
        this.ws();
        this.stringInto(out);
        this.expect(']');
      } else if (open === 0x22) this.spacedInto(out);
      else malformed(`merge ${out.length / 2} must be "left right" or [left, right]`, t.slice(this.i, this.i + 30));
      this.ws();
      const c = t.charCodeAt(this.i++);
      if (c === 0x5d) return out.finish();
      if (c !== 0x2c) malformed(`expected "," or "]" in merges at offset ${this.i - 1}`, t.slice(this.i - 1, this.i + 30));
    }
  }
}

/**
 * Parses the text of `tokenizer.json`. `model.vocab` and `model.merges`, which hold nearly all of it, are read
 * straight into an id-to-token array and a flat merge list; `JSON.parse` sees the rest with those two
 * replaced by empty values. This skips building a 200k-key object and half a million small arrays.
 * @param text the file's text
 * @throws {TokenizerError} `invalid_tokenizer_json` when the text is not valid JSON
 */
export function parseTokenizerJson(text: string): ParsedTokenizerJson {
  let vocabSpan: [number, number] | null = null;
  let mergesSpan: [number, number] | null = null;
  let idToToken: (string | undefined)[] = [];
  let merges: MergeList = new MergeListBuilder(text).finish();
  try {
    const r = new Reader(text);
    for (const key of r.keys()) {
      if (key !== 'model' || text[r.i] !== '{') {
        r.skip();
        continue;
      }
      for (const field of r.keys()) {
        const start = r.i;
        if (field === 'vocab' && text[r.i] === '{') {
          idToToken = r.vocab();
          vocabSpan = [start, r.i];
        } else if (field === 'merges' && text[r.i] === '[') {
          merges = r.merges();
          mergesSpan = [start, r.i];
        } else r.skip();
      }
    }
  } catch {
    // Not the layout expected (or not JSON): leave it all to JSON.parse, which reports errors precisely.
    vocabSpan = null;
  }
  if (vocabSpan === null) return { json: JSON.parse(text) as Record<string, any>, tables: null };
  const spans = [[...vocabSpan, '{}'], ...(mergesSpan ? [[...mergesSpan, '[]']] : [])].sort((a, b) => (a[0] as number) - (b[0] as number)) as [number, number, string][];
  let rest = '';
  let at = 0;
  for (const [s, e, empty] of spans) {
    rest += text.slice(at, s) + empty;
    at = e;
  }
  rest += text.slice(at);
  return { json: JSON.parse(rest) as Record<string, any>, tables: { idToToken, merges } };
}
