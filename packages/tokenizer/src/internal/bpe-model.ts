import { malformed, unsupported } from '../errors.js';
import { BYTE_TO_CHAR, detach, utf8Encode } from './byte-level.js';
import { PairTable, mergeSymbols } from './pair-table.js';
import { MergeListBuilder, mergeHalf, type MergeList } from './merge-list.js';
import { TokenTable, spansEqual } from './token-table.js';
import type { ModelTables } from './tokenizer-json.js';

const META = 0x2581;
const MAX_CACHED_PIECE = 256;
const MAX_CACHE_ENTRIES = 1 << 17;

/** Options of a BPE model that come from outside the `model` section. */
export interface BpeModelOptions {
  /** True when a ByteLevel pre-tokenizer feeds the model: pieces are encoded as mapped UTF-8 bytes. */
  readonly byteLevel: boolean;
}

/**
 * A BPE model (HF `models.BPE`): vocabulary, merges as integer pair ranks, unknown-token handling and a
 * per-piece cache. Token strings are stored once, shared by the vocabulary map and the id-to-token table.
 */
export class BpeModel {
  /** Token string to id, over {@link BpeModel.idToToken}'s strings. */
  private readonly vocab: TokenTable;
  /** Id to token string; holes where the vocabulary skips ids. */
  readonly idToToken: (string | undefined)[];
  readonly byteLevel: boolean;
  private readonly pairs: PairTable;
  private readonly byteToId = new Int32Array(256).fill(-1);
  private readonly byteFallbackIds: Int32Array | null = null;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly prefix: string;
  private readonly suffix: string;
  /** True when no token spans a boundary before a `▁` that follows another character (SentencePiece vocabularies). */
  private readonly splitBeforeMeta: boolean;
  private cache = new Map<string, number | Int32Array>();
  private bytes = new Uint8Array(1024);
  private syms = new Int32Array(1024);

  /**
   * @param spec the `model` section of `tokenizer.json` (type BPE)
   * @param options see {@link BpeModelOptions}
   * @param tables the vocabulary and merges when already read from the file's text (else from `spec`)
   * @throws {TokenizerError} `unsupported_tokenizer` for a non-BPE model, `invalid_tokenizer_json` for bad merges
   */
  constructor(spec: Record<string, any>, options: BpeModelOptions, tables: ModelTables | null = null) {
    const type = spec.type ?? (spec.merges || tables ? 'BPE' : undefined);
    if (type !== 'BPE') unsupported('model', type, ['BPE']);
    this.byteLevel = options.byteLevel;
    const { idToToken, merges } = tables ?? readTables(spec);
    this.idToToken = idToToken;
    this.vocab = new TokenTable(idToToken);
    const table = this.vocab;
    this.prefix = spec.continuing_subword_prefix ?? '';
    this.suffix = spec.end_of_word_suffix ?? '';
    this.ignoreMerges = spec.ignore_merges === true;
    this.fuseUnk = spec.fuse_unk === true;
    this.unkId = spec.unk_token != null ? (this.lookup(spec.unk_token) ?? -1) : -1;
    this.pairs = buildPairTable(table, idToToken, merges, this.prefix);
    for (let b = 0; b < 256; b++) this.byteToId[b] = this.lookup(BYTE_TO_CHAR[b]!) ?? -1;
    if (spec.byte_fallback === true) {
      const ids = new Int32Array(256);
      for (let b = 0; b < 256; b++) ids[b] = this.lookup(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
      this.byteFallbackIds = ids;
    }
    let splitBeforeMeta = !this.byteLevel && this.prefix === '' && this.suffix === '';
    if (splitBeforeMeta) {
      for (const token of idToToken) {
        if (token === undefined) continue;
        for (let i = token.indexOf('\u2581', 1); i > 0; i = token.indexOf('\u2581', i + 1)) {
          if (token.charCodeAt(i - 1) !== META) {
            splitBeforeMeta = false;
            break;
          }
        }
        if (!splitBeforeMeta) break;
      }
    }
    this.splitBeforeMeta = splitBeforeMeta;
  }

  /**
   * @param token a token string
   * @returns its id, or undefined when it is not in the vocabulary
   */
  lookup(token: string): number | undefined {
    const id = this.vocab.get(token);
    return id < 0 ? undefined : id;
  }

  /**
   * Appends the ids of one pre-tokenized piece to `out`.
   * @param piece the piece (original characters; mapped to bytes here when the model is byte-level)
   * @param out receives the ids
   */
  encode(piece: string, out: number[]): void {
    if (!this.splitBeforeMeta) {
      this.encodeWord(piece, out);
      return;
    }
    // SentencePiece vocabularies never join a character to a following "▁", so the word splits there
    // without changing the result, and each part is cacheable.
    let start = 0;
    for (let i = piece.indexOf('\u2581', 1); i > 0; i = piece.indexOf('\u2581', i + 1)) {
      if (piece.charCodeAt(i - 1) !== META) {
        this.encodeWord(piece.slice(start, i), out);
        start = i;
      }
    }
    this.encodeWord(start === 0 ? piece : piece.slice(start), out);
  }

  private encodeWord(word: string, out: number[]): void {
    const cached = this.cache.get(word);
    if (cached !== undefined) {
      if (typeof cached === 'number') out.push(cached);
      else for (let i = 0; i < cached.length; i++) out.push(cached[i]!);
      return;
    }
    const result = this.byteLevel ? this.bpeBytes(word) : this.bpeChars(word);
    if (typeof result === 'number') out.push(result);
    else for (let i = 0; i < result.length; i++) out.push(result[i]!);
    if (word.length <= MAX_CACHED_PIECE) {
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache = new Map();
      this.cache.set(detach(word), result);
    }
  }

  private ensure(n: number): void {
    if (this.bytes.length < n) this.bytes = new Uint8Array(n * 2);
    if (this.syms.length < n) this.syms = new Int32Array(n * 2);
  }

  private bpeBytes(word: string): number | Int32Array {
    this.ensure(word.length * 3);
    const bytes = this.bytes;
    const n = utf8Encode(word, bytes);
    if (this.ignoreMerges) {
      let mapped = '';
      for (let i = 0; i < n; i++) mapped += BYTE_TO_CHAR[bytes[i]!];
      const id = this.vocab.get(mapped);
      if (id >= 0) return id;
    }
    const syms = this.syms;
    let m = 0;
    let lastUnk = false;
    for (let i = 0; i < n; i++) {
      const id = this.byteToId[bytes[i]!]!;
      if (id >= 0) {
        syms[m++] = id;
        lastUnk = false;
      } else if (this.unkId >= 0 && !(this.fuseUnk && lastUnk)) {
        syms[m++] = this.unkId;
        lastUnk = true;
      }
    }
    return finish(mergeSymbols(this.pairs, syms, m), syms);
  }

  private bpeChars(word: string): number | Int32Array {
    if (this.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id >= 0) return id;
    }
    this.ensure(word.length * 4);
    const syms = this.syms;
    const { vocab, prefix, suffix, byteFallbackIds, unkId } = this;
    let m = 0;
    let lastUnk = false;
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      let symbol = width === 1 ? word[i]! : word.slice(i, i + 2);
      if (prefix !== '' && i > 0) symbol = prefix + symbol;
      i += width;
      if (suffix !== '' && i >= word.length) symbol += suffix;
      const id = vocab.get(symbol);
      if (id >= 0) {
        syms[m++] = id;
        lastUnk = false;
        continue;
      }
      if (byteFallbackIds !== null) {
        const n = utf8Encode(width === 1 ? String.fromCharCode(cp) : String.fromCodePoint(cp), this.bytes);
        let all = true;
        for (let k = 0; k < n; k++) if (byteFallbackIds[this.bytes[k]!]! < 0) all = false;
        if (all) {
          for (let k = 0; k < n; k++) syms[m++] = byteFallbackIds[this.bytes[k]!]!;
          lastUnk = false;
          continue;
        }
      }
      if (unkId >= 0 && !(this.fuseUnk && lastUnk)) syms[m++] = unkId;
      lastUnk = true;
    }
    return finish(mergeSymbols(this.pairs, syms, m), syms);
  }
}

/**
 * Resolves every merge to (left id, right id, rank, merged id). Spans of the file's text are looked up without
 * building strings; vocabularies mostly number merged tokens in merge order, so the id after the previous
 * merge's result is checked first (a sequential read instead of a hash probe; tokens are distinct, so a match
 * is the id).
 * @throws {TokenizerError} `invalid_tokenizer_json` when a merge uses a token missing from the vocabulary
 */
function buildPairTable(table: TokenTable, idToToken: readonly (string | undefined)[], merges: MergeList, prefix: string): PairTable {
  const pairs = new PairTable(merges.count);
  const { spans, text } = merges;
  let im = -1;
  for (let rank = 0; rank < merges.count; rank++) {
    const as = spans[4 * rank]!;
    const ae = spans[4 * rank + 1]!;
    const bs = spans[4 * rank + 2]!;
    const be = spans[4 * rank + 3]!;
    let ia: number;
    let ib: number;
    if (as >= 0 && bs >= 0 && prefix === '') {
      ia = table.idOfSpans(text, as, ae, 0, 0);
      ib = table.idOfSpans(text, bs, be, 0, 0);
      const next = idToToken[im + 1];
      im = next !== undefined && spansEqual(next, text, as, ae, bs, be) ? im + 1 : table.idOfSpans(text, as, ae, bs, be);
    } else {
      const a = mergeHalf(merges, 2 * rank);
      const b = mergeHalf(merges, 2 * rank + 1);
      ia = table.idOfSpans(a, 0, a.length, 0, 0);
      ib = table.idOfSpans(b, 0, b.length, 0, 0);
      im = table.getConcat(a, prefix !== '' && b.startsWith(prefix) ? b.slice(prefix.length) : b);
    }
    if (ia < 0 || ib < 0 || im < 0) malformed(`merge ${rank} uses a token missing from the vocabulary`, [mergeHalf(merges, 2 * rank), mergeHalf(merges, 2 * rank + 1)]);
    pairs.set(ia, ib, rank, im);
  }
  return pairs;
}

/** The vocabulary and merges of a parsed `model` section, in the shape {@link parseTokenizerJson} reads them. */
function readTables(spec: Record<string, any>): ModelTables {
  if (typeof spec.vocab !== 'object' || spec.vocab === null) malformed('model.vocab must be an object', spec.vocab);
  const vocab = spec.vocab as Record<string, unknown>;
  const idToToken: (string | undefined)[] = [];
  for (const token in vocab) {
    const id = vocab[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) malformed(`model.vocab[${JSON.stringify(token)}] must be a non-negative integer id`, id);
    idToToken[id] = token;
  }
  const merges = new MergeListBuilder('');
  for (const [rank, merge] of ((spec.merges ?? []) as (string | [string, string])[]).entries()) {
    if (typeof merge === 'string') {
      const space = merge.indexOf(' ', 1);
      if (space < 0) malformed(`merge ${rank} must be "left right"`, merge);
      merges.string(merge.slice(0, space));
      merges.string(merge.slice(space + 1));
    } else if (Array.isArray(merge) && merge.length === 2) {
      merges.string(String(merge[0]));
      merges.string(String(merge[1]));
    } else malformed(`merge ${rank} must be "left right" or [left, right]`, merge);
  }
  return { idToToken, merges: merges.finish() };
}

function finish(m: number, syms: Int32Array): number | Int32Array {
  return m === 1 ? syms[0]! : syms.slice(0, m);
}
