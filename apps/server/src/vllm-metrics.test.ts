import { AsyncLLM, SamplingParams } from '@vllm-ts/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VllmMetrics } from './vllm-metrics.js';

// The spec-decode counters over a real speculative engine (bundled default model, V1, CPU):
// present from the start at 0, then moving with the engine's cumulative stats.

const PROMPT = 'And God said, Let there be light: and there was light. And God said, Let there be light: and there was light. And God said,';
const K = 3;
let engine: AsyncLLM;

beforeAll(async () => {
  engine = await AsyncLLM.create({
    device: 'cpu',
    maxModelLen: 512,
    speculativeConfig: { method: 'ngram', numSpeculativeTokens: K, promptLookupMin: 2, promptLookupMax: 4 },
  });
}, 60_000);
afterAll(async () => {
  await engine?.close();
});

/** Every `vllm:spec_decode_*` sample of the exposition, keyed by name and labels. */
async function specSamples(metrics: VllmMetrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    if (!line.startsWith('vllm:spec_decode_')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

describe('VllmMetrics spec-decode counters', () => {
  it('export vLLM names and follow the engine as drafts are accepted', async () => {
    const metrics = new VllmMetrics();
    metrics.attach(engine, 'kjv');
    const labels = 'model_name="kjv",engine="0"';
    const name = (n: string, extra = '') => `vllm:spec_decode_${n}_total{${labels}${extra}}`;
    const before = await specSamples(metrics);
    expect([...before.keys()].sort()).toEqual(
      [
        name('num_accepted_tokens'),
        ...Array.from({ length: K }, (_, i) => name('num_accepted_tokens_per_pos', `,position="${i}"`)),
        name('num_draft_tokens'),
        name('num_drafts'),
      ].sort(),
    );
    for (const v of before.values()) expect(v).toBe(0);

    const params = new SamplingParams({ temperature: 0, maxTokens: 48, ignoreEos: true });
    for await (const out of engine.generate(PROMPT, params, 'spec-metrics')) if (out.finished) break;
    // Stats reach the listeners with the step that produced them; the last step may trail the output.
    const stats = engine.getSchedulerStats().specDecoding;
    for (let i = 0; i < 100 && (await specSamples(metrics)).get(name('num_drafts')) !== stats.numDrafts; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }

    const after = await specSamples(metrics);
    expect(after.get(name('num_drafts'))).toBe(stats.numDrafts);
    expect(after.get(name('num_draft_tokens'))).toBe(stats.numDraftTokens);
    expect(after.get(name('num_accepted_tokens'))).toBe(stats.numAcceptedTokens);
    expect(stats.numDrafts).toBeGreaterThan(0);
    expect(stats.numAcceptedTokens).toBeGreaterThan(0);
    const perPos = Array.from({ length: K }, (_, i) => after.get(name('num_accepted_tokens_per_pos', `,position="${i}"`))!);
    expect(perPos).toEqual(stats.numAcceptedTokensPerPos);
    expect(perPos.reduce((a, b) => a + b, 0)).toBe(after.get(name('num_accepted_tokens')));
    metrics.detach();
  }, 60_000);

  it('are absent when the engine does not speculate', async () => {
    const metrics = new VllmMetrics();
    const plain = { ...engine, config: { ...engine.config, speculativeConfig: null }, onStats: () => () => {} };
    metrics.attach(plain as unknown as AsyncLLM, 'kjv');
    expect((await specSamples(metrics)).size).toBe(0);
    expect(await metrics.registry.metrics()).toContain('vllm:prefix_cache_queries_total');
  });
});
