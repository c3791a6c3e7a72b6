import { readJsonlFixture, texts, type TokenizerReferenceLine } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { fixtureTokenizer } from './testing/fixture-tokenizer.js';

// Ground truth from HF `tokenizers` 0.23: for each of the 3000 documents, the ids with and without special
// tokens and decode(ids). Mismatches are collected so one failure lists every differing document.
const DOCS = texts();
const NAMES = ['gpt2', 'o200k', 'sp-llama2style', 'real-llama3', 'real-qwen3', 'real-mistral'];

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe.each(NAMES)('%s matches HF tokenizers on every reference document', (name) => {
  const tok = fixtureTokenizer(name);
  const reference = readJsonlFixture<TokenizerReferenceLine>(`tokenizers/${name}/reference.jsonl`);

  it('has one reference line per document', () => {
    expect(reference).toHaveLength(DOCS.length);
  });

  it('encodes without special tokens', () => {
    const wrong = DOCS.map((doc, i) => (sameIds(tok.encode(doc, { addSpecialTokens: false }), reference[i]!.ids) ? -1 : i)).filter((i) => i >= 0);
    expect(wrong).toEqual([]);
  });

  it('encodes with special tokens', () => {
    const wrong = DOCS.map((doc, i) => (sameIds(tok.encode(doc), reference[i]!.ids_with_special ?? reference[i]!.ids) ? -1 : i)).filter((i) => i >= 0);
    expect(wrong).toEqual([]);
  });

  it('decodes', () => {
    const wrong = DOCS.map((doc, i) => (tok.decode(reference[i]!.ids) === (reference[i]!.decoded ?? doc) ? -1 : i)).filter((i) => i >= 0);
    expect(wrong).toEqual([]);
  });
});
