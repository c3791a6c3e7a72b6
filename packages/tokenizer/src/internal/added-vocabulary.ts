import { malformed } from '../errors.js';
import { escapeRegex } from './onig-regex.js';

/** One entry of `added_tokens` in `tokenizer.json`. */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly singleWord: boolean;
  readonly normalized: boolean;
}

/** Receives a stretch of text between added tokens, with its offset in the input. */
export type EmitText = (text: string, offset: number) => void;

const WHITE = /\p{White_Space}/u;
const WORD_CHAR = /[\p{Alphabetic}\p{N}_]/u;

/**
 * The added tokens and how HF matches them: leftmost-longest over the raw text for tokens with
 * `normalized: false`, over the normalized text for the others, honouring `single_word`, `lstrip`, `rstrip`.
 */
export class AddedVocabulary {
  readonly byId = new Map<number, AddedToken>();
  readonly byContent = new Map<string, AddedToken>();
  private readonly rawRe: RegExp | null;
  private readonly normalizedRe: RegExp | null;

  /**
   * @param entries the `added_tokens` array
   * @param normalize the tokenizer's normalizer, applied to `normalized` tokens' contents for matching
   */
  constructor(entries: unknown, normalize: ((text: string) => string) | null) {
    if (entries != null && !Array.isArray(entries)) malformed('added_tokens must be an array', entries);
    const raw: AddedToken[] = [];
    const norm: AddedToken[] = [];
    for (const e of (entries ?? []) as Record<string, any>[]) {
      if (typeof e.id !== 'number' || typeof e.content !== 'string') malformed('each added token needs a numeric id and a string content', e);
      const token: AddedToken = {
        id: e.id,
        content: e.content,
        special: e.special === true,
        lstrip: e.lstrip === true,
        rstrip: e.rstrip === true,
        singleWord: e.single_word === true,
        normalized: e.normalized ?? !e.special,
      };
      this.byId.set(token.id, token);
      this.byContent.set(token.content, token);
      if (token.content === '') continue;
      (token.normalized && normalize !== null ? norm : raw).push(token);
    }
    this.rawRe = alternation(raw.map((t) => t.content));
    this.normalizedMatch = new Map(norm.map((t) => [normalize!(t.content), t]));
    this.normalizedRe = alternation([...this.normalizedMatch.keys()]);
  }

  private readonly normalizedMatch: Map<string, AddedToken>;

  /** True when some added tokens are matched after normalization. */
  get hasNormalized(): boolean {
    return this.normalizedRe !== null;
  }

  /**
   * Splits raw text on the added tokens matched before normalization.
   * @param emitText receives the text between tokens
   * @param out receives the ids of matched tokens, in order with the text
   */
  splitRaw(text: string, emitText: EmitText, out: number[]): void {
    this.split(text, this.rawRe, this.byContent, emitText, out);
  }

  /** Splits normalized text on the added tokens matched after normalization. */
  splitNormalized(text: string, emitText: EmitText, out: number[]): void {
    this.split(text, this.normalizedRe, this.normalizedMatch, emitText, out);
  }

  private split(text: string, re: RegExp | null, table: Map<string, AddedToken>, emitText: EmitText, out: number[]): void {
    if (re === null) {
      emitText(text, 0);
      return;
    }
    re.lastIndex = 0;
    let consumed = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const token = table.get(m[0])!;
      let start = m.index;
      let stop = start + m[0].length;
      if (token.singleWord) {
        const before = start > 0 && WORD_CHAR.test(charBefore(text, start));
        const after = stop < text.length && WORD_CHAR.test(charAt(text, stop));
        if (before || after) continue;
      }
      if (token.lstrip) {
        let s = start;
        while (s > consumed && WHITE.test(charBefore(text, s))) s -= charBefore(text, s).length;
        start = s;
      }
      if (token.rstrip) {
        while (stop < text.length && WHITE.test(charAt(text, stop))) stop += charAt(text, stop).length;
      }
      if (start > consumed) emitText(text.slice(consumed, start), consumed);
      out.push(token.id);
      consumed = stop;
      if (re.lastIndex < stop) re.lastIndex = stop;
    }
    if (consumed < text.length) emitText(consumed === 0 ? text : text.slice(consumed), consumed);
  }
}

function charAt(text: string, i: number): string {
  return String.fromCodePoint(text.codePointAt(i)!);
}

function charBefore(text: string, i: number): string {
  const c = text.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text[i - 1]!;
}

function alternation(contents: string[]): RegExp | null {
  if (contents.length === 0) return null;
  // Longest first: the alternation then picks the longest token at the leftmost position, like HF's
  // leftmost-longest Aho-Corasick automaton.
  const sorted = [...new Set(contents)].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegex).join('|'), 'g');
}
