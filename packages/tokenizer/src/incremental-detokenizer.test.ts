import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IncrementalDetokenizer } from './index.js';
import { fixtureTokenizer } from './testing/fixture-tokenizer.js';

/** Pushes `ids` in chunks of the given sizes (cycled), then flushes; returns the deltas. */
function stream(detok: IncrementalDetokenizer, ids: readonly number[], sizes: readonly number[]): string[] {
  const deltas: string[] = [];
  for (let i = 0, k = 0; i < ids.length; k++) {
    const n = sizes.length === 0 ? 1 : sizes[k % sizes.length]!;
    deltas.push(detok.push(ids.slice(i, i + n)));
    i += n;
  }
  deltas.push(detok.flush());
  return deltas;
}

describe.each(['gpt2', 'real-llama3', 'real-mistral', 'sp-llama2style'])('%s: deltas concatenate to decode()', (name) => {
  const tok = fixtureTokenizer(name);
  const specials = [tok.bosTokenId, tok.eosTokenId].filter((id): id is number => id !== null);
  // Low ids hold the byte tokens (byte-fallback <0xXX>, or single bytes), which split UTF-8 characters.
  const id = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: tok.vocabSize - 1 }) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom(...specials) },
  );
  const ids = fc.array(id, { maxLength: 60 });
  const sizes = fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 8 });

  it.each([true, false])('for random ids and chunkings (skipSpecialTokens %s)', (skipSpecialTokens) => {
    fc.assert(
      fc.property(ids, sizes, (all, chunking) => {
        const deltas = stream(new IncrementalDetokenizer(tok, { skipSpecialTokens }), all, chunking);
        expect(deltas.join('')).toBe(tok.decode(all, { skipSpecialTokens }));
      }),
      { numRuns: 300 },
    );
  });

  it('for the tokens of real text, one at a time', () => {
    const text = 'Streaming: 日本語のテキスト, emoji 👩‍👩‍👧 and naïve café.\n  def f(x):\n\treturn x';
    const all = tok.encode(text);
    const deltas = stream(new IncrementalDetokenizer(tok), all, [1]);
    expect(deltas.join('')).toBe(tok.decode(all, { skipSpecialTokens: true }));
    // A delta never carries half a character.
    for (const d of deltas) expect(d).not.toContain('\ufffd');
  });
});

describe('IncrementalDetokenizer', () => {
  const mistral = fixtureTokenizer('real-mistral');
  const gpt2 = fixtureTokenizer('gpt2');

  it('holds back a byte-fallback run until it ends: a later byte can invalidate earlier bytes', () => {
    const nul = mistral.tokenToId('<0x00>')!;
    const high = mistral.tokenToId('<0x80>')!;
    const word = mistral.tokenToId('\u2581the')!;
    expect(mistral.decode([nul])).toBe('\u0000');
    expect(mistral.decode([nul, high])).toBe('\ufffd\ufffd');
    const detok = new IncrementalDetokenizer(mistral);
    expect(detok.push(nul)).toBe('');
    expect(detok.push(high)).toBe('');
    expect(detok.push(word)).toBe('\ufffd\ufffd the');
  });

  it('holds back the bytes of a character until it is complete', () => {
    const ids = gpt2.encode('😀');
    expect(ids.length).toBeGreaterThan(1);
    const detok = new IncrementalDetokenizer(gpt2);
    const deltas = ids.map((id) => detok.push(id));
    expect(deltas.slice(0, -1).every((d) => d === '')).toBe(true);
    expect(deltas.at(-1)).toBe('😀');
    expect(detok.flush()).toBe('');
  });

  it('flushes an incomplete character as U+FFFD, like decode', () => {
    const [first] = gpt2.encode('😀');
    const detok = new IncrementalDetokenizer(gpt2);
    expect(detok.push(first!)).toBe('');
    expect(detok.flush()).toBe(gpt2.decode([first!]));
  });

  it('keeps the leading space of the first new token after context ids (SentencePiece)', () => {
    const ids = mistral.encode('Hello world', { addSpecialTokens: false });
    expect(ids).toHaveLength(2);
    const withContext = new IncrementalDetokenizer(mistral, { contextIds: ids.slice(0, 1) });
    expect(withContext.push(ids.slice(1)) + withContext.flush()).toBe(' world');
    const fresh = new IncrementalDetokenizer(mistral);
    expect(fresh.push(ids) + fresh.flush()).toBe('Hello world');
  });

  it('leaves out special tokens by default and keeps them when asked', () => {
    const ids = mistral.encode('Hi');
    expect(ids[0]).toBe(mistral.bosTokenId);
    const skipping = new IncrementalDetokenizer(mistral);
    expect(skipping.push(ids) + skipping.flush()).toBe('Hi');
    const keeping = new IncrementalDetokenizer(mistral, { skipSpecialTokens: false });
    expect(keeping.push(ids) + keeping.flush()).toBe('<s> Hi');
  });

  it('stays exact over a long stream (the id window is trimmed)', () => {
    const text = 'The quick brown fox jumps over the lazy dog. 速い茶色の狐。 '.repeat(400);
    const ids = mistral.encode(text, { addSpecialTokens: false });
    const deltas = stream(new IncrementalDetokenizer(mistral), ids, [1, 2, 3]);
    expect(deltas.join('')).toBe(mistral.decode(ids));
  });
});
