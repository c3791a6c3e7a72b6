import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from './index.js';
import { compileOnigRegex } from './internal/onig-regex.js';
import { compileNormalizer } from './internal/normalizer.js';
import { GPT2_PATTERN, compilePreTokenizer, splitByRegex } from './internal/pre-tokenizer.js';
import { pieceScanner } from './internal/piece-scanner.js';

function pieces(spec: unknown, text: string, offset = 0): string[] {
  const { split } = compilePreTokenizer(spec);
  if (split === null) return [text];
  const out: string[] = [];
  split(text, offset, (p) => out.push(p));
  return out;
}

function matches(pattern: string, text: string): string[] {
  return [...text.matchAll(compileOnigRegex(pattern))].map((m) => m[0]);
}

describe('Oniguruma patterns', () => {
  it('treats \\s as Unicode White_Space: U+0085 yes, U+FEFF no', () => {
    expect(matches('\\s+', 'a\u0085\ufeff b')).toEqual(['\u0085', ' ']);
    expect(matches('[^\\s]+', 'a\u0085\ufeff')).toEqual(['a', '\ufeff']);
  });

  it('translates inline case-insensitive groups, including the long s', () => {
    expect(matches("(?i:'s|'ll)", "'S 'Ll '\u017f 's")).toEqual(["'S", "'Ll", "'\u017f", "'s"]);
    expect(matches('a(?i)b', 'aB Ab')).toEqual(['aB']);
  });

  it('counts characters newer than the regex engines of HF and tiktoken as unassigned', () => {
    // U+323B0 is a CJK ideograph from Unicode 17; tiktoken (and HF) do not see it as a letter.
    expect(matches('\\p{L}+', 'a\u{323B0}b')).toEqual(['a', 'b']);
    expect(matches('\\P{L}+', 'a\u{323B0}b')).toEqual(['\u{323B0}']);
  });

  it('translates \\x{..}, \\A, \\d, and escapes in classes', () => {
    expect(matches('\\x{41}+', 'AAB')).toEqual(['AA']);
    expect(matches('\\Aab', 'abab')).toEqual(['ab']);
    expect(matches('\\d+', '12\u0663x')).toEqual(['12\u0663']);
    expect(matches('[\\r\\n/|(-]+', 'a/|(-\nb')).toEqual(['/|(-\n']);
  });

  it('rejects constructs JavaScript lacks, with a typed error', () => {
    expect(() => compileOnigRegex('a++')).toThrow(TokenizerError);
    expect(() => compileOnigRegex('(?>ab)')).toThrow(/atomic group/);
  });
});

describe('Split', () => {
  const split = (behavior: string, invert = false) => pieces({ type: 'Split', pattern: { String: '-' }, behavior, invert }, 'a-b--c');
  it.each([
    ['Removed', ['a', 'b', 'c']],
    ['Isolated', ['a', '-', 'b', '-', '-', 'c']],
    ['MergedWithPrevious', ['a-', 'b-', '-', 'c']],
    ['MergedWithNext', ['a', '-b', '-', '-c']],
    ['Contiguous', ['a', '-', 'b', '--', 'c']],
  ])('behavior %s', (behavior, expected) => {
    expect(split(behavior)).toEqual(expected);
  });

  it('invert swaps delimiters and content', () => {
    expect(split('Removed', true)).toEqual(['-', '-', '-']);
    expect(pieces({ type: 'Split', pattern: { Regex: '\\d+' }, behavior: 'Isolated', invert: true }, 'ab12cd')).toEqual(['ab', '12', 'cd']);
  });

  it('rejects an unknown behavior', () => {
    expect(() => compilePreTokenizer({ type: 'Split', pattern: { String: '-' }, behavior: 'Sideways' })).toThrow(/behavior/);
  });
});

describe('other pre-tokenizers', () => {
  it('Metaspace: prepend_scheme always, first, never; split on and off', () => {
    expect(pieces({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }, 'Hey friend')).toEqual(['\u2581Hey', '\u2581friend']);
    expect(pieces({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false }, 'Hey friend')).toEqual(['\u2581Hey\u2581friend']);
    expect(pieces({ type: 'Metaspace', prepend_scheme: 'first' }, 'Hey friend')).toEqual(['\u2581Hey', '\u2581friend']);
    expect(pieces({ type: 'Metaspace', prepend_scheme: 'first' }, 'x y', 5)).toEqual(['x', '\u2581y']);
    expect(pieces({ type: 'Metaspace', prepend_scheme: 'never' }, 'Hey friend')).toEqual(['Hey', '\u2581friend']);
  });

  it('Digits, individually or contiguous', () => {
    expect(pieces({ type: 'Digits', individual_digits: true }, 'a123b')).toEqual(['a', '1', '2', '3', 'b']);
    expect(pieces({ type: 'Digits', individual_digits: false }, 'a123b')).toEqual(['a', '123', 'b']);
  });

  it('Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, CharDelimiterSplit', () => {
    expect(pieces({ type: 'Punctuation' }, 'Hey, you!')).toEqual(['Hey', ',', ' you', '!']);
    expect(pieces({ type: 'Whitespace' }, 'Hey, you!')).toEqual(['Hey', ',', 'you', '!']);
    expect(pieces({ type: 'WhitespaceSplit' }, 'Hey,  you!\n')).toEqual(['Hey,', 'you!']);
    expect(pieces({ type: 'BertPreTokenizer' }, 'Hey, you!')).toEqual(['Hey', ',', 'you', '!']);
    expect(pieces({ type: 'CharDelimiterSplit', delimiter: 'x' }, 'axbxxc')).toEqual(['a', 'b', 'c']);
  });

  it('ByteLevel with add_prefix_space and the GPT-2 regex, and a Sequence', () => {
    const spec = { type: 'ByteLevel', add_prefix_space: true, use_regex: true };
    expect(pieces(spec, "Hello world's  end")).toEqual([' Hello', ' world', "'s", ' ', ' end']);
    expect(compilePreTokenizer(spec).byteLevel).toBe(true);
    const seq = { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }] };
    expect(pieces(seq, 'ab12 c3')).toEqual(['ab', '1', '2', 'c', '3']);
  });

  it('names the unsupported type', () => {
    expect(() => compilePreTokenizer({ type: 'UnicodeScripts' })).toThrow(/pre_tokenizer type "UnicodeScripts" is not supported/);
  });
});

describe('normalizers', () => {
  const run = (spec: unknown, text: string) => compileNormalizer(spec)!(text);
  it('Unicode forms, Lowercase, StripAccents', () => {
    expect(run({ type: 'NFKC' }, 'ﬁ①')).toBe('fi1');
    expect(run({ type: 'NFD' }, 'é')).toBe('e\u0301');
    expect(run({ type: 'NFC' }, 'e\u0301')).toBe('é');
    expect(run({ type: 'NFKD' }, 'ﬁ')).toBe('fi');
    expect(run({ type: 'Lowercase' }, 'ÀB')).toBe('àb');
    expect(run({ type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }] }, 'café')).toBe('cafe');
  });

  it('Strip, Prepend (not on empty text), Replace with a string or a regex', () => {
    expect(run({ type: 'Strip', strip_left: true, strip_right: false }, ' \u3000a ')).toBe('a ');
    expect(run({ type: 'Prepend', prepend: '\u2581' }, 'a')).toBe('\u2581a');
    expect(run({ type: 'Prepend', prepend: '\u2581' }, '')).toBe('');
    expect(run({ type: 'Replace', pattern: { String: ' ' }, content: '$&' }, 'a b c')).toBe('a$&b$&c');
    expect(run({ type: 'Replace', pattern: { Regex: '\\s+' }, content: '_' }, 'a \t b')).toBe('a_b');
  });

  it('names the unsupported type', () => {
    expect(() => compileNormalizer({ type: 'Precompiled', precompiled_charsmap: '' })).toThrow(/normalizer type "Precompiled"/);
  });
});

describe('hand-written scanners split exactly like the regexes', () => {
  const PATTERNS = {
    gpt2: GPT2_PATTERN,
    llama3: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    qwen: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    o200k:
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  };
  // Characters from every class the patterns distinguish: cases, modifier letters, marks, digits of several
  // scripts, whitespace (U+0085, U+00A0, U+FEFF is not), newlines, slashes, apostrophes, astral letters.
  const alphabet = [..."aZǅʰ中\u0301\u0903\u06f11١Ⅻ½ \t\n\r\u0085\u00a0\u3000\ufeff/'’sStTlLdDmMrReEvVſ.,!$-_😀\u{1d400}\u{323b0}\ud800"];
  const text = fc.oneof(
    fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((a) => a.join('')),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );

  it.each(Object.entries(PATTERNS))('%s', (_name, pattern) => {
    expect(pieceScanner(pattern)).not.toBeNull();
    const re = compileOnigRegex(pattern);
    const viaScanner = (t: string) => pieces({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated' }, t);
    const viaRegex = (t: string) => {
      const out: string[] = [];
      splitByRegex(t, 0, re, 'Isolated', false, (p) => out.push(p));
      return out;
    };
    fc.assert(
      fc.property(text, (t) => {
        expect(viaScanner(t)).toEqual(viaRegex(t));
      }),
      { numRuns: 3000 },
    );
  });
});
