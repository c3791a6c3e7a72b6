import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFixture, tokenizerFixtureDir } from '@vllm-ts/fixtures';
import { InvalidArgumentError, VllmError } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { Tokenizer, TokenizerError } from './index.js';
import { fixtureTokenizer } from './testing/fixture-tokenizer.js';

/** A BPE tokenizer over single characters (ids in the order given), plus whatever `extra` sets. */
function charTokenizer(chars: string[], extra: Record<string, any> = {}): Tokenizer {
  const { model, ...rest } = extra;
  const vocab = Object.fromEntries(chars.map((c, i) => [c, i]));
  return Tokenizer.fromJSON({ model: { type: 'BPE', vocab, merges: [], ...model }, ...rest });
}

function added(id: number, content: string, flags: Record<string, boolean> = {}) {
  return { id, content, special: false, lstrip: false, rstrip: false, single_word: false, normalized: false, ...flags };
}

describe('BPE model options', () => {
  it('merges by rank, leftmost first on ties, also past 48 symbols (the heap path)', () => {
    const tok = charTokenizer(['a', 'b', 'ab', 'aa'], { model: { merges: ['a b', 'a a'] } });
    expect(tok.encode('aab')).toEqual([0, 2]);
    expect(tok.encode('aaaa')).toEqual([3, 3]);
    const long = 'aaab'.repeat(30);
    expect(tok.encode(long)).toEqual(Array(30).fill([3, 2]).flat());
  });

  it('continuing_subword_prefix and end_of_word_suffix', () => {
    const prefixed = charTokenizer(['a', '##b', 'ab'], { model: { continuing_subword_prefix: '##', merges: [['a', '##b']] } });
    expect(prefixed.encode('ab')).toEqual([2]);
    const suffixed = charTokenizer(['a', 'b</w>', 'ab</w>', 'b'], { model: { end_of_word_suffix: '</w>', merges: [['a', 'b</w>']] } });
    expect(suffixed.encode('ab')).toEqual([2]);
    expect(suffixed.encode('ba')).toEqual([3]);
  });

  it('unk_token, with and without fuse_unk; byte_fallback', () => {
    expect(charTokenizer(['a', '<unk>'], { model: { unk_token: '<unk>', fuse_unk: true } }).encode('axxa')).toEqual([0, 1, 0]);
    expect(charTokenizer(['a', '<unk>'], { model: { unk_token: '<unk>' } }).encode('axxa')).toEqual([0, 1, 1, 0]);
    const bytes = charTokenizer(['a', '<unk>', '<0xC3>', '<0xA9>'], { model: { unk_token: '<unk>', byte_fallback: true } });
    expect(bytes.encode('aé')).toEqual([0, 2, 3]);
    expect(bytes.encode('ü')).toEqual([1]);
  });

  it('loads the same merges from JSON text (spans, escapes, both layouts) as from a parsed object', () => {
    // Merged ids out of merge order (the sequential guess misses), tokens holding JSON escapes, a prefix.
    const vocab = { a: 0, '"': 1, '\\': 2, b: 3, 'a"': 4, '"\\': 5, ab: 6, 'a"\\': 7, '##b': 8 };
    const cases = [
      { vocab, merges: ['a b', 'a "', '" \\', 'a" \\'] },
      { vocab, merges: [['a', 'b'], ['a', '"'], ['"', '\\'], ['a"', '\\']] },
      { vocab, merges: [['a', '##b']], continuing_subword_prefix: '##' },
    ];
    for (const model of cases) {
      const json = { model: { type: 'BPE', ...model } };
      const fromObject = Tokenizer.fromJSON(json);
      for (const text of [JSON.stringify(json), JSON.stringify(json, null, 2)]) {
        const fromText = Tokenizer.fromJSON(text);
        for (const input of ['ab', 'a"\\', '"\\a"', 'ba"']) expect(fromText.encode(input)).toEqual(fromObject.encode(input));
      }
    }
    expect(Tokenizer.fromJSON(JSON.stringify({ model: { type: 'BPE', ...cases[0] } })).encode('a"\\ab')).toEqual([7, 6]);
    expect(Tokenizer.fromJSON(JSON.stringify({ model: { type: 'BPE', ...cases[2] } })).encode('ab')).toEqual([6]);
    const missing = JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [['a', 'b']] } });
    expect(() => Tokenizer.fromJSON(missing)).toThrow(/merge 0 uses a token missing from the vocabulary/);
  });

  it('ignore_merges takes a whole word found in the vocabulary', () => {
    const chars = ['a', 'b', 'c', 'ab', 'abc'];
    expect(charTokenizer(chars, { model: { merges: ['a b'], ignore_merges: false } }).encode('abc')).toEqual([3, 2]);
    expect(charTokenizer(chars, { model: { merges: ['a b'], ignore_merges: true } }).encode('abc')).toEqual([4]);
  });

  it('names an unsupported model type and rejects broken merges', () => {
    const wordPiece = { model: { type: 'WordPiece', vocab: { a: 0 } } };
    expect(() => Tokenizer.fromJSON(wordPiece)).toThrow(/model type "WordPiece" is not supported; expected one of BPE/);
    try {
      Tokenizer.fromJSON({ model: { type: 'Unigram', vocab: [] } });
    } catch (error) {
      expect(VllmError.isInstance(error) && error.code).toBe('unsupported_tokenizer');
    }
    expect(() => charTokenizer(['a'], { model: { merges: ['a z'] } })).toThrow(/merge 0 uses a token missing/);
    expect(() => Tokenizer.fromJSON('{not json')).toThrow(/not valid JSON/);
  });
});

describe('added tokens', () => {
  const chars = ['a', 'b', 'c', 'd', ' '];
  it('match leftmost-longest before the model', () => {
    const tok = charTokenizer(chars, { added_tokens: [added(10, 'ab'), added(11, 'abc')] });
    expect(tok.encode('abcd ab')).toEqual([11, 3, 4, 10]);
  });

  it('lstrip and rstrip take the neighbouring whitespace', () => {
    const tok = charTokenizer(chars, { added_tokens: [added(10, 'c', { lstrip: true }), added(11, 'd', { rstrip: true })] });
    expect(tok.encode('a  c b')).toEqual([0, 10, 4, 1]);
    expect(tok.encode('a d  b')).toEqual([0, 4, 11, 1]);
  });

  it('single_word only matches a whole word', () => {
    const tok = charTokenizer(chars, { added_tokens: [added(10, 'ab', { single_word: true })] });
    expect(tok.encode('ab cab ab')).toEqual([10, 4, 2, 0, 1, 4, 10]);
  });

  it('normalized tokens match the normalized text', () => {
    const tok = charTokenizer(['h', 'i'], { normalizer: { type: 'Lowercase' }, added_tokens: [added(10, 'HI', { normalized: true })] });
    expect(tok.encode('hI')).toEqual([10]);
    expect(tok.decode([10])).toBe('HI');
  });

  it('decode passes added tokens through the decoder, and skipSpecialTokens drops special ones', () => {
    const tok = charTokenizer(chars, {
      added_tokens: [added(10, '<s>', { special: true }), added(11, '<x>')],
      decoder: { type: 'Sequence', decoders: [{ type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    });
    expect(tok.decode([10, 4, 0, 11])).toBe('<s> a<x>');
    expect(tok.decode([10, 4, 0, 11], { skipSpecialTokens: true })).toBe('a<x>');
    expect(tok.isSpecialToken(10)).toBe(true);
    expect(tok.isSpecialToken(11)).toBe(false);
  });
});

describe('decoders and post-processors', () => {
  it('Metaspace decoder drops the first token prefix', () => {
    const tok = charTokenizer(['\u2581a', '\u2581b', 'c'], { decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always' } });
    expect(tok.decode([0, 1, 2])).toBe('a bc');
  });

  it('ByteFallback writes one U+FFFD per byte of an invalid run', () => {
    const tok = charTokenizer(['<0xE6>', '<0x97>', '<0xA5>', 'x'], { decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }] } });
    expect(tok.decode([0, 1, 2, 3])).toBe('日x');
    expect(tok.decode([0, 1, 3])).toBe('\ufffd\ufffdx');
  });

  it('Replace, Strip and no decoder at all', () => {
    const tok = charTokenizer(['_a', 'b_'], { decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '_' }, content: ' ' }, { type: 'Strip', content: ' ', start: 1, stop: 1 }] } });
    expect(tok.decode([0, 1])).toBe('ab');
    expect(charTokenizer(['a', 'b']).decode([0, 1, 99])).toBe('a b');
  });

  it('TemplateProcessing, RobertaProcessing and Sequence add special tokens only with addSpecialTokens', () => {
    const template = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }], special_tokens: { '<s>': { ids: [8] }, '</s>': { ids: [9] } } };
    const tok = charTokenizer(['a'], { post_processor: { type: 'Sequence', processors: [{ type: 'ByteLevel' }, template] } });
    expect(tok.encode('a')).toEqual([8, 0, 9]);
    expect(tok.encode('a', { addSpecialTokens: false })).toEqual([0]);
    expect(charTokenizer(['a'], { post_processor: { type: 'RobertaProcessing', cls: ['<s>', 5], sep: ['</s>', 6] } }).encode('a')).toEqual([5, 0, 6]);
  });
});

describe('Tokenizer surface', () => {
  const tok = fixtureTokenizer('real-qwen3');

  it('reports vocabulary size, special ids and token lookups', () => {
    expect(tok.vocabSize).toBe(151669);
    expect(tok.bosTokenId).toBeNull();
    expect(tok.eosTokenId).toBe(tok.tokenToId('<|im_end|>'));
    expect(tok.tokenToId('Hello')).toBe(9707);
    expect(tok.idToToken(9707)).toBe('Hello');
    expect(tok.idToToken(151657)).toBe('<tool_call>');
    // Names inherited by plain objects must not leak through the parsed vocabulary object.
    expect(tok.tokenToId('constructor')).toBe(21846);
    expect(tok.idToToken(21846)).toBe('constructor');
    expect(tok.tokenToId('__proto__')).toBeNull();
    expect(tok.tokenToId('__defineGetter__')).toBeNull();
    expect(tok.tokenToId('no such token here')).toBeNull();
    expect(tok.idToToken(10_000_000)).toBeNull();
  });

  it('rejects a non-string input with a typed error', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(InvalidArgumentError);
  });

  it('loads a folder, with chat_template.jinja when the config has no template', async () => {
    const fromDir = await Tokenizer.fromDirectory(tokenizerFixtureDir('sp-llama2style'));
    const text = 'Hello world, 日本';
    expect(fromDir.encode(text)).toEqual(fixtureTokenizer('sp-llama2style').encode(text));
    expect(fromDir.bosTokenId).toBe(1);
    expect(fromDir.eosTokenId).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'vllm-ts-tok-'));
    writeFileSync(join(dir, 'tokenizer.json'), readFixture('tokenizers/sp-llama2style/tokenizer.json'));
    writeFileSync(join(dir, 'chat_template.jinja'), '{% for m in messages %}[{{ m.content }}]{% endfor %}');
    const withTemplate = await Tokenizer.fromDirectory(dir);
    expect(withTemplate.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('[hi]');
    await expect(Tokenizer.fromDirectory(join(dir, 'missing'))).rejects.toThrow(TokenizerError);
  });
});

describe('long inputs stay linear (no quadratic blowup, no stack overflow)', () => {
  const byteLevel = fixtureTokenizer('gpt2');
  const sentencePiece = fixtureTokenizer('sp-llama2style');
  const cases = ['a'.repeat(100_000), ' '.repeat(1_000_000), '日本'.repeat(50_000), 'ab1 '.repeat(100_000)];

  it.each(cases.map((c) => [c.slice(0, 4), c] as const))('round-trips %j repeated', (_name, text) => {
    expect(byteLevel.decode(byteLevel.encode(text))).toBe(text);
    expect(sentencePiece.decode(sentencePiece.encode(text, { addSpecialTokens: false }))).toBe(text);
  });
});
