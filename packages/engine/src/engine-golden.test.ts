import { describe, expect, it } from 'vitest';
import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM } from './index.js';
import { GREEDY, expected, generateAll } from './testing/golden-run.js';
import type { Reference } from './testing/golden-run.js';

// Greedy tokens from Hugging Face transformers (float64) for every fixture model: the V1 engine must
// reproduce them exactly whatever the cache setting, token budget or batching. (V0: engine-golden-v0.test.ts.)

// NOTE: generous timeouts: each test loads a model and, for V1, starts a worker on a possibly busy machine.
describe.each(MODEL_FIXTURES)('golden greedy tokens of %s (V1)', (name) => {
  it('prefix caching on, all prompts at once, twice', async () => {
    const { tokens, cached } = await generateAll(name, { engineVersion: 'v1', blockSize: 4 });
    expect(tokens).toEqual(expected(name));
    // Repeated prompts hit every full block but the last token's (block size 4).
    const ref = modelReference(name) as Reference;
    expect(cached).toEqual(ref.prompts.map((p) => Math.floor((p.prompt_ids.length - 1) / 4) * 4));
  }, 90_000);
});

describe('golden greedy tokens (V1) under other settings', () => {
  it('prefix caching off and 8 tokens per step (chunked prefill)', async () => {
    const { tokens } = await generateAll('tiny-llama', { engineVersion: 'v1', enablePrefixCaching: false, maxNumBatchedTokens: 8 });
    expect(tokens).toEqual(expected('tiny-llama'));
  }, 90_000);
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
  }, 90_000);
});
