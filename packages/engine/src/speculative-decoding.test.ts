import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLM, SamplingParams, SpeculativeDecodingRequiresV1Error } from './index.js';

// `speculativeConfig` through the public facade on the bundled default model (V1 worker thread):
// greedy output must not move by a token, and on prompts that repeat themselves most drafts land.

const PROMPTS = [
  'And God said, Let there be light: and there was light. And God said, Let there be light: and there was light. And God said,',
  'In the beginning God created the heaven and the earth. In the beginning God created the heaven and the earth. In the beginning',
  'The LORD is my shepherd; I shall not want. The LORD is my shepherd; I shall not want. The LORD',
  'And it came to pass, that the king said unto them, Go ye, and it came to pass, that the king said unto them,',
];
const GREEDY = new SamplingParams({ temperature: 0, maxTokens: 64, ignoreEos: true });

describe('speculative decoding on the bundled default model', () => {
  let plain: LLM;
  let spec: LLM;
  beforeAll(async () => {
    [plain, spec] = await Promise.all([
      LLM.create({ maxModelLen: 512 }),
      LLM.create({ maxModelLen: 512, speculativeConfig: { method: 'ngram', numSpeculativeTokens: 4, promptLookupMin: 2, promptLookupMax: 4 } }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([plain?.close(), spec?.close()]);
  });

  it('keeps greedy output token for token while accepting most drafts on repetitive prompts', async () => {
    const want = (await plain.generate(PROMPTS, GREEDY)).map((o) => o.outputs[0]!.tokenIds);
    const got = (await spec.generate(PROMPTS, GREEDY)).map((o) => o.outputs[0]!.tokenIds);
    expect(got).toEqual(want);
    expect(plain.llmEngine.getSchedulerStats()!.specDecoding.numDrafts).toBe(0);
    const s = spec.llmEngine.getSchedulerStats()!.specDecoding;
    expect(s.numDrafts).toBeGreaterThan(0);
    expect(s.numAcceptedTokens).toBeGreaterThan(0);
    expect(s.numAcceptedTokens / s.numDraftTokens).toBeGreaterThan(0.5);
    expect(s.numAcceptedTokensPerPos).toHaveLength(4);
    expect(s.numAcceptedTokensPerPos.reduce((a, b) => a + b, 0)).toBe(s.numAcceptedTokens);
    // Position i is reached only when position i - 1 was accepted.
    for (let i = 1; i < 4; i++) expect(s.numAcceptedTokensPerPos[i]!).toBeLessThanOrEqual(s.numAcceptedTokensPerPos[i - 1]!);
  }, 90_000);

  it('reproduces a seeded sampled request whatever else shares its batch', async () => {
    const seeded = new SamplingParams({ temperature: 0.8, seed: 7, maxTokens: 48, ignoreEos: true });
    const alone = (await spec.generate([PROMPTS[0]!], seeded))[0]!.outputs[0]!.tokenIds;
    const unseeded = new SamplingParams({ temperature: 0.8, maxTokens: 48, ignoreEos: true });
    const batch = await spec.generate([PROMPTS[1]!, PROMPTS[0]!, PROMPTS[2]!], [unseeded, seeded, unseeded]);
    expect(batch[1]!.outputs[0]!.tokenIds).toEqual(alone);
  }, 90_000);

  it('leaves the distribution of sampled tokens unchanged (two-sample chi-square over many seeds)', async () => {
    // Token 2 is the first one verified against a draft, token 3 a later draft position or the bonus.
    const N = 600;
    const params = (seed: number) => new SamplingParams({ temperature: 1, topK: 6, seed, maxTokens: 3, ignoreEos: true });
    const prompts = Array.from({ length: N }, () => PROMPTS[2]!);
    const before = spec.llmEngine.getSchedulerStats()!.specDecoding;
    // NOTE: disjoint seeds, so the two samples are independent (shared seeds would correlate them).
    const off = await plain.generate(prompts, prompts.map((_, i) => params(i)));
    const on = await spec.generate(prompts, prompts.map((_, i) => params(N + i)));
    const after = spec.llmEngine.getSchedulerStats()!.specDecoding;
    const accepted = after.numAcceptedTokens - before.numAcceptedTokens;
    const drafted = after.numDraftTokens - before.numDraftTokens;
    // Both branches of the rejection sampler ran many times.
    expect(accepted).toBeGreaterThan(100);
    expect(drafted - accepted).toBeGreaterThan(100);
    for (const pos of [1, 2]) {
      const { statistic, threshold, bins } = chiSquare(
        off.map((o) => o.outputs[0]!.tokenIds[pos]!),
        on.map((o) => o.outputs[0]!.tokenIds[pos]!),
      );
      expect(bins).toBeGreaterThan(2);
      expect(statistic, `token ${pos + 1}: chi-square ${statistic.toFixed(1)} over ${bins} bins`).toBeLessThan(threshold);
    }
  }, 120_000);
});

/**
 * Two-sample chi-square homogeneity test for equal sample sizes: statistic sum (a - b)^2 / (a + b)
 * over bins with at least 10 observations in all (rarer values pooled), threshold the upper 1e-7
 * quantile of chi-square with bins - 1 degrees of freedom (Wilson-Hilferty).
 */
function chiSquare(a: readonly number[], b: readonly number[]): { statistic: number; threshold: number; bins: number } {
  const counts = new Map<number, [number, number]>();
  for (const t of a) (counts.get(t) ?? counts.set(t, [0, 0]).get(t)!)[0]++;
  for (const t of b) (counts.get(t) ?? counts.set(t, [0, 0]).get(t)!)[1]++;
  const cells: [number, number][] = [];
  const pooled: [number, number] = [0, 0];
  for (const c of counts.values()) {
    if (c[0] + c[1] >= 10) cells.push(c);
    else {
      pooled[0] += c[0];
      pooled[1] += c[1];
    }
  }
  if (pooled[0] + pooled[1] > 0) cells.push(pooled);
  const statistic = cells.reduce((s, [x, y]) => s + (x - y) ** 2 / (x + y), 0);
  const df = cells.length - 1;
  const z = 5.2; // one-sided normal quantile of 1e-7
  const threshold = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  return { statistic, threshold, bins: cells.length };
}

describe('speculative decoding on engine V0', () => {
  it('is refused with speculative_decoding_requires_v1 before anything loads', async () => {
    const create = LLM.create({ engineVersion: 'v0', speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3 } });
    await expect(create).rejects.toBeInstanceOf(SpeculativeDecodingRequiresV1Error);
    await expect(create).rejects.toMatchObject({ code: 'speculative_decoding_requires_v1' });
  });
});
