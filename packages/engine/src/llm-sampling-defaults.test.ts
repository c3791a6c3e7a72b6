import { mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM, SamplingParams } from './index.js';
import type { EngineArgs } from './index.js';

const MODEL = 'tiny-qwen2';
const ref = modelReference(MODEL) as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
const prompt = { promptTokenIds: ref.prompts[1]!.prompt_ids };
const base: EngineArgs = { maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, engineVersion: 'v0' };

/** The fixture model in a folder of its own whose generation_config.json also holds `sampling`. */
function modelWithGenerationConfig(sampling: Record<string, unknown>): string {
  const src = modelFixtureDir(MODEL);
  const dir = mkdtempSync(join(tmpdir(), 'vllm-ts-genmodel-'));
  for (const f of readdirSync(src)) if (f !== 'generation_config.json' && !f.startsWith('.')) symlinkSync(join(src, f), join(dir, f));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [50258, 50256], ...sampling }));
  return dir;
}

describe('logit bias and allowed token ids through the engine (V1)', () => {
  let llm: LLM;
  beforeAll(async () => {
    llm = await LLM.create({ ...base, engineVersion: 'v1', model: modelFixtureDir(MODEL) });
  });
  afterAll(() => llm.close());

  it('+100 forces a token, -100 bans the greedy one; logprobs stay those of the raw logits', async () => {
    const greedy = { temperature: 0, maxTokens: 4, ignoreEos: true, logprobs: 2 };
    const [plain] = await llm.generate(prompt, greedy);
    const first = plain!.outputs[0]!.tokenIds[0]!;
    expect(plain!.outputs[0]!.tokenIds).toEqual(ref.prompts[1]!.greedy_ids.slice(0, 4));
    const forced = 1234;
    const [biased] = await llm.generate(prompt, { ...greedy, logitBias: { [forced]: 100 } });
    expect(biased!.outputs[0]!.tokenIds).toEqual([forced, forced, forced, forced]);
    // vLLM V1 (logprobs mode raw_logprobs): the first position's top list is the unbiased one.
    const lp0 = biased!.outputs[0]!.logprobs![0]!;
    expect(lp0.top).toEqual(plain!.outputs[0]!.logprobs![0]!.top);
    expect(lp0.chosen.tokenId).toBe(forced);
    expect(lp0.chosen.rank).toBeGreaterThan(2);
    const [banned] = await llm.generate(prompt, { ...greedy, logitBias: new Map([[first, -100]]) });
    expect(banned!.outputs[0]!.tokenIds[0]).not.toBe(first);
    expect(banned!.outputs[0]!.tokenIds[0]).toBe(plain!.outputs[0]!.logprobs![0]!.top[1]!.tokenId);
  });

  it('allowedTokenIds restricts sampling to the listed ids', async () => {
    const allowed = [7, 99, 1234];
    const [out] = await llm.generate(prompt, new SamplingParams({ temperature: 1, seed: 3, maxTokens: 12, ignoreEos: true, allowedTokenIds: allowed }));
    expect(out!.outputs[0]!.tokenIds).toHaveLength(12);
    for (const t of out!.outputs[0]!.tokenIds) expect(allowed).toContain(t);
  });

  it('refuses ids outside the vocabulary, naming them and the vocabulary size; nothing of the batch runs', async () => {
    const V = llm.config.vocabSize;
    await expect(llm.generate([prompt, prompt], [{}, { logitBias: { 5: 1, [V]: 2, [V + 7]: 1 } }])).rejects.toThrow(
      `SamplingParams.logitBias must be token ids in [0, ${V}) (the vocabulary size is ${V}) (got [${V},${V + 7}])`,
    );
    await expect(llm.generate(prompt, { allowedTokenIds: [V] })).rejects.toMatchObject({ code: 'invalid_sampling_params', field: 'allowedTokenIds' });
    expect(llm.llmEngine.hasUnfinishedRequests()).toBe(false);
  });
});

describe('generation-config defaults (vLLM --generation-config)', () => {
  it('auto: LLM.generate without params uses the model folder defaults; explicit params ignore them', async () => {
    const llm = await LLM.create({ ...base, model: modelWithGenerationConfig({ temperature: 0, top_k: 20, max_new_tokens: 5 }) });
    try {
      expect(llm.llmEngine.getGenerationDefaults()).toEqual({ source: 'model', params: { temperature: 0, topK: 20, maxTokens: 5 }, maxTokensCap: null });
      expect(llm.getDefaultSamplingParams()).toEqual(new SamplingParams({ temperature: 0, topK: 20, maxTokens: 5 }));
      const [out] = await llm.generate(prompt);
      expect(out!.outputs[0]!.tokenIds).toEqual(ref.prompts[1]!.greedy_ids.slice(0, 5));
      const [explicit] = await llm.generate(prompt, { temperature: 0, maxTokens: 3 });
      expect(explicit!.outputs[0]!.tokenIds).toHaveLength(3);
    } finally {
      await llm.close();
    }
  });

  it('vllm ignores the file; overrideGenerationConfig replaces its keys', async () => {
    const model = modelWithGenerationConfig({ temperature: 0.6, max_new_tokens: 5 });
    const plain = await LLM.create({ ...base, model, generationConfig: 'vllm' });
    try {
      expect(plain.getDefaultSamplingParams()).toEqual(new SamplingParams());
    } finally {
      await plain.close();
    }
    const overridden = await LLM.create({ ...base, model, overrideGenerationConfig: { temperature: 0, max_new_tokens: 7 } });
    try {
      expect(overridden.llmEngine.getGenerationDefaults()).toEqual({ source: 'model', params: { temperature: 0, maxTokens: 7 }, maxTokensCap: 7 });
      const [out] = await overridden.generate(prompt);
      expect(out!.outputs[0]!.tokenIds).toEqual(ref.prompts[1]!.greedy_ids.slice(0, 7));
    } finally {
      await overridden.close();
    }
  });

  it('refuses an invalid generation config at create time, with the key', async () => {
    await expect(LLM.create({ ...base, model: modelWithGenerationConfig({ top_p: 2 }) })).rejects.toThrow(
      'the generation config (model) sets top_p to 2; expected a number in (0, 1]',
    );
  });
});
