import fc from 'fast-check';
import { get_encoding, type Tiktoken } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureTokenizer } from './testing/fixture-tokenizer.js';

// Pieces where JavaScript and the Rust regex engines, or naive tokenizers, tend to disagree.
const TRICKY = [
  '\ud800', '\udfff', 'a\udc00b', 'e\u0301', '\u0301\u0302', '\u0915\u094d\u0937', '👩\u200d👩\u200d👧', '🏳️\u200d🌈', '👍🏽',
  ' ', '   ', '\t', '\n', '\r\n', '\n\n\n', ' \n ', '\u0085', '\u00a0', '\ufeff', '\u2028', '\u3000', '\u200b',
  "'S", "'ll", "'VE", "'\u017f", '\u017f', 'İ', '\u212a', 'ǅ', 'ß', 'ﬁ', 'Ⅻ', '123456', '١٢٣', '½', '3.14',
  'Hello', 'WORLD', 'naïve', 'Ünïcödé', '日本語', '한국어', 'Ελληνικά', 'مرحبا', '\u0000', '\u007f', 'x'.repeat(40), ' '.repeat(33),
];

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) },
);
/** Arbitrary Unicode text, lone surrogates included, biased towards the pieces above. */
const text = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));

/** What `TextEncoder` makes of a string: lone surrogates become U+FFFD. */
function wellFormed(x: string): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(x));
}

const encodings: Tiktoken[] = [];
afterAll(() => {
  for (const e of encodings) e.free();
});

describe.each([
  ['gpt2', 'gpt2'],
  ['o200k', 'o200k_base'],
] as const)('%s agrees with tiktoken', (fixture, encodingName) => {
  const tok = fixtureTokenizer(fixture);
  const enc = get_encoding(encodingName);
  encodings.push(enc);

  it('gives the same ids on arbitrary Unicode', () => {
    fc.assert(
      fc.property(text, (x) => {
        expect(tok.encode(x, { addSpecialTokens: false })).toEqual(Array.from(enc.encode_ordinary(x)));
      }),
      { numRuns: 400 },
    );
  });

  it('round-trips decode(encode(x))', () => {
    fc.assert(
      fc.property(text, (x) => {
        expect(tok.decode(tok.encode(x))).toBe(wellFormed(x));
      }),
      { numRuns: 200 },
    );
  });
});

describe('lossless round trips of the production tokenizers', () => {
  it('Llama 3 (byte-level)', () => {
    const tok = fixtureTokenizer('real-llama3');
    fc.assert(fc.property(text, (x) => tok.decode(tok.encode(x), { skipSpecialTokens: true }) === wellFormed(x)), { numRuns: 200 });
  });

  it('Qwen3 (NFC normalizer: lossless up to NFC)', () => {
    const tok = fixtureTokenizer('real-qwen3');
    fc.assert(fc.property(text, (x) => tok.decode(tok.encode(x)) === wellFormed(x).normalize('NFC')), { numRuns: 200 });
  });

  it('Mistral (SentencePiece BPE with byte fallback), for text without "▁" or its special tokens', () => {
    const tok = fixtureTokenizer('real-mistral');
    const plain = text.filter((x) => !/\u2581|<s>|<\/s>|<unk>/.test(x));
    fc.assert(fc.property(plain, (x) => tok.decode(tok.encode(x), { skipSpecialTokens: true }) === wellFormed(x)), { numRuns: 200 });
  });
});
