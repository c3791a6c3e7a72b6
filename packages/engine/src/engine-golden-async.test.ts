import { describe, expect, it } from 'vitest';
import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM, SamplingParams } from './index.js';
import { expected, generateAll } from './testing/golden-run.js';
import type { Reference } from './testing/golden-run.js';

// Async scheduling (vLLM's --async-scheduling) through the whole stack: worker-thread engine core,
// batch queue of two steps, front end. Greedy tokens equal the transformers references exactly.

describe.each(MODEL_FIXTURES)('golden greedy tokens of %s (V1, async scheduling)', (name) => {
  it('all prompts at once, twice (prefix cache hits on the second round)', async () => {
    const { tokens } = await generateAll(name, { engineVersion: 'v1', blockSize: 4, asyncScheduling: true });
    expect(tokens).toEqual(expected(name));
  }, 90_000);
});

describe('async scheduling through LLM.generate', () => {
  it('8 tokens per step (chunked prefill) keeps the reference tokens', async () => {
    const { tokens } = await generateAll('tiny-llama', { enablePrefixCaching: false, maxNumBatchedTokens: 8, asyncScheduling: true }, 1);
    expect(tokens).toEqual(expected('tiny-llama'));
  }, 90_000);

  it('stop strings, stop ids and EOS finish exactly as with the synchronous engine', async () => {
    const ref = modelReference('tiny-llama') as Reference;
    const prompts = ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids }));
    const make = (asyncScheduling: boolean) =>
      LLM.create({ model: modelFixtureDir('tiny-llama'), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, asyncScheduling });
    const sync = await make(false);
    let stop: string[];
    let want: { text: string; finish: string | null; tokens: number[] }[];
    try {
      // A stop string taken from the middle of the first prompt's greedy text.
      const probe = await sync.generate(prompts, new SamplingParams({ temperature: 0, maxTokens: 24, ignoreEos: true }));
      const text = probe[2]!.outputs[0]!.text;
      stop = [text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3)];
      const params = new SamplingParams({ temperature: 0, maxTokens: 24, stop, stopTokenIds: [ref.prompts[4]!.greedy_ids[7]!] });
      want = (await sync.generate(prompts, params)).map((o) => ({ text: o.outputs[0]!.text, finish: o.outputs[0]!.finishReason, tokens: [...o.outputs[0]!.tokenIds] }));
    } finally {
      await sync.close();
    }
    expect(want.some((w) => w.finish === 'stop')).toBe(true);
    const asyncLlm = await make(true);
    try {
      const params = new SamplingParams({ temperature: 0, maxTokens: 24, stop, stopTokenIds: [ref.prompts[4]!.greedy_ids[7]!] });
      const got = (await asyncLlm.generate(prompts, params)).map((o) => ({ text: o.outputs[0]!.text, finish: o.outputs[0]!.finishReason, tokens: [...o.outputs[0]!.tokenIds] }));
      expect(got).toEqual(want);
      expect(asyncLlm.llmEngine.getSchedulerStats()!.kvCacheUsage).toBe(0);
    } finally {
      await asyncLlm.close();
    }
  }, 90_000);
});
