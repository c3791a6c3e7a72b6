import { describe, expect, it } from 'vitest';
import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM, SamplingParams } from './index.js';
import type { EngineArgs } from './index.js';

// Greedy tokens from Hugging Face transformers (float64) for every fixture model: the engine must
// reproduce them exactly whatever the engine version, cache setting, token budget or batching.
interface Reference {
  prompts: { prompt_ids: number[]; greedy_ids: number[] }[];
}

const GREEDY = new SamplingParams({ temperature: 0, maxTokens: 24, ignoreEos: true });

async function generateAll(name: string, args: EngineArgs, rounds = 2): Promise<{ tokens: number[][]; cached: number[] }> {
  const ref = modelReference(name) as Reference;
  const llm = await LLM.create({ model: modelFixtureDir(name), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, ...args });
  try {
    // All prompts at once, then again: the second round reads the first round's prefix cache.
    const prompts = ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids }));
    const first = await llm.generate(prompts, GREEDY);
    const second = rounds === 2 ? await llm.generate(prompts, GREEDY) : first;
    expect(second.map((o) => o.outputs[0]!.tokenIds)).toEqual(first.map((o) => o.outputs[0]!.tokenIds));
    return { tokens: first.map((o) => [...o.outputs[0]!.tokenIds]), cached: second.map((o) => o.numCachedTokens) };
  } finally {
    await llm.close();
  }
}

const expected = (name: string) => (modelReference(name) as Reference).prompts.map((p) => p.greedy_ids);

describe.each(MODEL_FIXTURES)('golden greedy tokens of %s', (name) => {
  it('V1, prefix caching on, all prompts at once', async () => {
    const { tokens, cached } = await generateAll(name, { engineVersion: 'v1', blockSize: 4 });
    expect(tokens).toEqual(expected(name));
    // Repeated prompts hit every full block but the last token's (block size 4).
    const ref = modelReference(name) as Reference;
    expect(cached).toEqual(ref.prompts.map((p) => Math.floor((p.prompt_ids.length - 1) / 4) * 4));
  });

  it('V0, prefix caching off, prefill-first steps', async () => {
    const { tokens, cached } = await generateAll(name, { engineVersion: 'v0' }, 1);
    expect(tokens).toEqual(expected(name));
    expect(cached.every((c) => c === 0)).toBe(true);
  });
});

describe('golden greedy tokens under a tiny token budget (chunked prefill)', () => {
  it('V1 with prefix caching off and 8 tokens per step', async () => {
    const { tokens } = await generateAll('tiny-llama', { engineVersion: 'v1', enablePrefixCaching: false, maxNumBatchedTokens: 8 });
    expect(tokens).toEqual(expected('tiny-llama'));
  });

  it('V0 with chunked prefill, prefix caching on and 16 tokens (one block) per step', async () => {
    const { tokens, cached } = await generateAll('tiny-llama', {
      engineVersion: 'v0',
      enableChunkedPrefill: true,
      enablePrefixCaching: true,
      maxNumBatchedTokens: 16,
    });
    expect(tokens).toEqual(expected('tiny-llama'));
    // V0's prefix cache also serves whole blocks only, the last prompt token always recomputed.
    expect(cached).toEqual([0, 0, 32, 96, 256, 592]);
  });

  it('V1 with n-gram speculative decoding verifies drafts without changing a token', async () => {
    const ref = modelReference('tiny-llama') as Reference;
    const llm = await LLM.create({
      model: modelFixtureDir('tiny-llama'),
      maxModelLen: 640,
      kvCacheMemoryBytes: 1 << 22,
      speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3, promptLookupMin: 1, promptLookupMax: 3 },
    });
    try {
      const outs = await llm.generate(ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids })), GREEDY);
      expect(outs.map((o) => o.outputs[0]!.tokenIds)).toEqual(expected('tiny-llama'));
      const spec = llm.llmEngine.getSchedulerStats()!.specDecoding;
      expect(spec.numDraftTokens).toBeGreaterThan(0);
      expect(spec.numAcceptedTokens).toBeLessThanOrEqual(spec.numDraftTokens);
    } finally {
      await llm.close();
    }
  });
});
