import type { Tokenizer } from './tokenizer.js';

/** Options of {@link IncrementalDetokenizer}. */
export interface IncrementalDetokenizerOptions {
  /** Leave out special added tokens. Default true. */
  readonly skipSpecialTokens?: boolean;
  /**
   * Ids already shown to the user (e.g. the prompt's last few tokens). They are context only: their text is
   * not returned, and the first new token keeps its leading space as it would in the middle of a text.
   */
  readonly contextIds?: readonly number[];
}

const TRIM_AT = 4096;

/**
 * Turns a stream of token ids into text deltas for streaming. A delta never ends inside a UTF-8 character
 * (byte-level and byte-fallback tokens are held until the character completes), and the deltas, followed by
 * {@link IncrementalDetokenizer.flush}, concatenate to exactly `tokenizer.decode(allIds)`.
 *
 * Each push decodes only a short window: the tokens of the previous delta (as context, so decoders that
 * strip a leading space or fuse byte runs see what they would see in the full text) plus the new ones.
 *
 * @example
 * ```ts
 * const detok = new IncrementalDetokenizer(tok, { skipSpecialTokens: true });
 * for await (const ids of stream) process.stdout.write(detok.push(ids));
 * process.stdout.write(detok.flush());
 * ```
 */
export class IncrementalDetokenizer {
  private readonly skip: boolean;
  private ids: number[];
  /** Start of the decoding window in `ids`. */
  private windowStart = 0;
  /** End of the ids whose text has been returned. */
  private readEnd: number;
  /** decode(ids[windowStart..readEnd)): the part of the window's text already returned. */
  private prefix = '';

  /**
   * @param tokenizer the tokenizer the ids come from
   * @param options see {@link IncrementalDetokenizerOptions}
   */
  constructor(private readonly tokenizer: Tokenizer, options: IncrementalDetokenizerOptions = {}) {
    this.skip = options.skipSpecialTokens !== false;
    this.ids = (options.contextIds ?? []).filter((id) => !(this.skip && tokenizer.isSpecialToken(id)));
    this.readEnd = this.ids.length;
    this.prefix = this.decodeRange(0, this.readEnd);
  }

  private decodeRange(start: number, end: number): string {
    return this.tokenizer.decode(this.ids.slice(start, end), { skipSpecialTokens: this.skip });
  }

  /**
   * Adds generated ids.
   * @param ids the new ids (one id or several)
   * @returns the text they complete; empty while a character or a byte run is still incomplete
   */
  push(ids: number | readonly number[]): string {
    const list = typeof ids === 'number' ? [ids] : ids;
    for (const id of list) if (!(this.skip && this.tokenizer.isSpecialToken(id))) this.ids.push(id);
    // A trailing run of byte-fallback tokens is unfinished: the next byte may change how all of it decodes.
    let stableEnd = this.ids.length;
    while (stableEnd > this.readEnd && this.tokenizer.isByteFallbackToken(this.ids[stableEnd - 1]!)) stableEnd--;
    if (stableEnd === this.readEnd) return '';
    const text = this.decodeRange(this.windowStart, stableEnd);
    // An incomplete UTF-8 character decodes to a trailing U+FFFD: wait for its remaining bytes.
    if (text.length <= this.prefix.length || text.endsWith('\ufffd')) return '';
    return this.emit(text, stableEnd);
  }

  /**
   * Ends the stream: returns the text still held back (an incomplete character decodes as U+FFFD, as in
   * `decode`). After it, the deltas concatenate to `decode(allIds)`.
   */
  flush(): string {
    if (this.ids.length === this.readEnd) return '';
    return this.emit(this.decodeRange(this.windowStart, this.ids.length), this.ids.length);
  }

  /** Returns the window text past what was already returned, and makes ids[readEnd..end) the next context. */
  private emit(text: string, end: number): string {
    // NOTE: the window's text always extends the returned prefix for the decoders LLMs ship (byte-level and
    // SentencePiece layouts; see the property tests). Should an exotic decoder chain break that, the delta is
    // still taken past the prefix's length rather than failing the stream.
    const delta = text.slice(this.prefix.length);
    this.windowStart = this.readEnd;
    this.readEnd = end;
    this.prefix = this.decodeRange(this.windowStart, this.readEnd);
    if (this.windowStart > TRIM_AT) {
      this.ids = this.ids.slice(this.windowStart);
      this.readEnd -= this.windowStart;
      this.windowStart = 0;
    }
    return delta;
  }
}
