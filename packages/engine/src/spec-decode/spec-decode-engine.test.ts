import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import type { SamplingParamsInit } from '@vllm-ts/core';
import type { EngineCore } from '../core/engine-core.js';
import { generateOnCore, sharedRunnerCores } from '../testing/engine-core-harness.js';

// The engine core driven with this folder's NgramProposer (the runner verifies drafts): greedy tokens
// must equal the Hugging Face reference and the same run without speculation, token for token.

interface Reference {
  prompts: { prompt_ids: number[]; greedy_ids: number[] }[];
}

async function coresFor(name: string): Promise<(k: number) => EngineCore> {
  const make = await sharedRunnerCores(modelFixtureDir(name), { maxModelLen: 640, kvCacheMemoryBytes: 1 << 22 });
  return (k) => make(k === 0 ? null : { numSpeculativeTokens: k, promptLookupMin: 1, promptLookupMax: 3 });
}

function generate(core: EngineCore, prompts: readonly number[][], init: SamplingParamsInit, _tag: string): number[][] {
  const { tokens, finishReasons } = generateOnCore(core, prompts, init);
  expect(finishReasons).not.toContain('error');
  return tokens;
}

const GREEDY = { temperature: 0, maxTokens: 24, ignoreEos: true };

describe.each(MODEL_FIXTURES)('n-gram speculation on %s', (name) => {
  it('greedy tokens equal the reference; repetitive prompts accept drafts and still match the run without speculation', async () => {
    const ref = modelReference(name) as Reference;
    const core = await coresFor(name);
    const prompts = ref.prompts.map((p) => p.prompt_ids);
    const spec = core(4);
    expect(generate(spec, prompts, GREEDY, 'ref')).toEqual(ref.prompts.map((p) => p.greedy_ids));

    // A prompt that quotes itself, continued past the fixture's 24 tokens: most drafts come from the quote.
    const repetitive = prompts.map((p) => p.slice(0, 64)).map((q) => [...q, ...q, ...q.slice(0, 3)]);
    const long = { ...GREEDY, maxTokens: 48 };
    const plain = generate(core(0), repetitive, long, 'plain');
    const before = spec.getStats().specDecoding.numAcceptedTokens;
    expect(generate(spec, repetitive, long, 'rep')).toEqual(plain);
    const stats = spec.getStats().specDecoding;
    expect(stats.numDraftTokens).toBeGreaterThan(0);
    // NOTE: tiny-llama's greedy continuations never repeat their prompt, so none of its drafts is accepted.
    if (name !== 'tiny-llama') expect(stats.numAcceptedTokens).toBeGreaterThan(before);
    expect(stats.numAcceptedTokensPerPos.reduce((a, b) => a + b, 0)).toBe(stats.numAcceptedTokens);
  }, 60_000);
});
