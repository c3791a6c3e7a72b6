import { describe, expect, it } from 'vitest';
import { cudaUnavailableReason, isCudaAvailable } from '@vllm-ts/cuda';
import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM, SamplingParams, type EngineArgs, type SamplingParamsInit } from './index.js';
import { expected, generateAll } from './testing/golden-run.js';
import type { Reference } from './testing/golden-run.js';

// Async scheduling on the CUDA runner: step N+1 is submitted while N runs; decode rows take N's
// sampled ids on the device (token gather). float32 reproduces every reference greedy token, and
// every request gives what the synchronous engine gives.
const cuda = isCudaAvailable();
const title = (name: string) => (cuda ? `${name} (GPU)` : `${name} (GPU; skipped: ${cudaUnavailableReason()})`);

async function generateWith(args: EngineArgs, name: string, params: SamplingParamsInit[]): Promise<{ tokens: number[][]; logprobs: (number | undefined)[][] }> {
  const ref = modelReference(name) as Reference;
  const llm = await LLM.create({ model: modelFixtureDir(name), device: 'cuda', dtype: 'float32', maxModelLen: 640, kvCacheMemoryBytes: 1 << 24, ...args });
  try {
    const outs = await llm.generate(
      ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids })),
      ref.prompts.map((_, i) => new SamplingParams(params[i % params.length]!)),
    );
    expect(llm.llmEngine.getSchedulerStats()!.kvCacheUsage).toBe(0);
    return {
      tokens: outs.map((o) => [...o.outputs[0]!.tokenIds]),
      logprobs: outs.map((o) => (o.outputs[0]!.logprobs ?? []).map((e) => e?.chosen.logprob)),
    };
  } finally {
    await llm.close();
  }
}

describe.skipIf(!cuda)(title('CUDA engine with async scheduling'), () => {
  describe.each(MODEL_FIXTURES)('%s, float32 on the GPU', (name) => {
    it('decode graphs: every greedy token equals the reference (twice, prefix cache hits)', async () => {
      const { tokens } = await generateAll(name, { device: 'cuda', dtype: 'float32', blockSize: 16, asyncScheduling: true });
      expect(tokens).toEqual(expected(name));
    }, 120_000);
    it('eager, 8 tokens per step: same tokens', async () => {
      const { tokens } = await generateAll(name, { device: 'cuda', dtype: 'float32', enforceEager: true, maxNumBatchedTokens: 8, enablePrefixCaching: false, asyncScheduling: true }, 1);
      expect(tokens).toEqual(expected(name));
    }, 120_000);
  });

  it('logprobs, prompt logprobs, penalties and min tokens (host sampling) mixed with plain requests: the synchronous engine\'s tokens', async () => {
    const mix: SamplingParamsInit[] = [
      { temperature: 0, maxTokens: 24, ignoreEos: true },
      { temperature: 0, maxTokens: 24, ignoreEos: true, logprobs: 2 },
      { temperature: 0, maxTokens: 24, ignoreEos: true, repetitionPenalty: 1.3, presencePenalty: 0.5 },
      { temperature: 0, maxTokens: 24, ignoreEos: true, minTokens: 6 },
      { temperature: 0, maxTokens: 24, ignoreEos: true, promptLogprobs: 1 },
    ];
    const sync = await generateWith({}, 'tiny-llama', mix);
    const pipelined = await generateWith({ asyncScheduling: true }, 'tiny-llama', mix);
    expect(pipelined.tokens).toEqual(sync.tokens);
    const worst = Math.max(0, ...pipelined.logprobs.flatMap((row, i) => row.map((l, j) => Math.abs(l! - sync.logprobs[i]![j]!))));
    expect(worst).toBeLessThan(1e-4);
    expect(pipelined.tokens[0]).toEqual(expected('tiny-llama')[0]);
  }, 120_000);

  it('seeded random sampling is identical to the synchronous engine, with graphs and eager', async () => {
    const seeded: SamplingParamsInit[] = [
      { temperature: 0.9, topP: 0.95, maxTokens: 16, ignoreEos: true, seed: 11 },
      { temperature: 0.7, topK: 20, maxTokens: 16, ignoreEos: true, seed: 5 },
      { temperature: 0, maxTokens: 16, ignoreEos: true },
    ];
    for (const enforceEager of [false, true]) {
      const sync = await generateWith({ enforceEager }, 'tiny-qwen3', seeded);
      const pipelined = await generateWith({ enforceEager, asyncScheduling: true }, 'tiny-qwen3', seeded);
      expect(pipelined.tokens).toEqual(sync.tokens);
    }
  }, 120_000);
});
