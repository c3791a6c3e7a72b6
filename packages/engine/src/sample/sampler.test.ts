import { resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { tokenLogprobs, topIndices } from './logprobs.js';
import { RandomGenerator } from './random-generator.js';
import { Sampler, type SampleContext } from './sampler.js';

const LOGITS = Float32Array.from([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, 3.0]);
const V = LOGITS.length;

function ctx(init: SamplingParamsInit, seed = 1, outputs: number[] = [], prompt: number[] = []): SampleContext {
  return { params: resolveSamplingParams(init), promptTokenIds: prompt, outputTokenIds: outputs, generator: new RandomGenerator(seed) };
}

/** The exact target distribution, written out independently of the sampler. */
function exact(logits: ArrayLike<number>, t: number, topK = 0, topP = 1, minP = 0): number[] {
  const z = Array.from(logits, (x) => Math.exp(x / t));
  let p = z.map((x) => x / z.reduce((a, b) => a + b, 0));
  const maxP = Math.max(...p);
  p = p.map((x) => (x < minP * maxP ? 0 : x));
  const order = p.map((_, i) => i).sort((a, b) => p[b]! - p[a]!);
  if (topK > 0) order.slice(topK).forEach((i) => (p[i] = 0));
  if (topP < 1) {
    const total = p.reduce((a, b) => a + b, 0);
    let kept = 0;
    for (const i of order) {
      if (kept >= topP * total - 1e-12) p[i] = 0;
      else kept += p[i]!;
    }
  }
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s);
}

/** Pearson chi-square of `n` draws against `probs` (zero-probability tokens must never appear). */
function chiSquare(draws: number[], probs: number[]): number {
  const counts = Array.from({ length: probs.length }, () => 0);
  for (const d of draws) counts[d]!++;
  let chi = 0;
  probs.forEach((p, i) => {
    if (p === 0) expect(counts[i], `token ${i} has probability 0`).toBe(0);
    else chi += (counts[i]! - p * draws.length) ** 2 / (p * draws.length);
  });
  return chi;
}

const N = 20_000;
// chi-square critical values at p = 0.001 for 1..7 degrees of freedom.
const CRITICAL = [0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32];

describe('Sampler distributions match exact probabilities (chi-square, p = 0.001, seeded)', () => {
  const cases: [string, SamplingParamsInit, number[]][] = [
    ['temperature 1', { temperature: 1 }, exact(LOGITS, 1)],
    ['temperature 0.5', { temperature: 0.5 }, exact(LOGITS, 0.5)],
    ['temperature 2', { temperature: 2 }, exact(LOGITS, 2)],
    ['top-k 3', { temperature: 1, topK: 3 }, exact(LOGITS, 1, 3)],
    ['top-p 0.8', { temperature: 1, topP: 0.8 }, exact(LOGITS, 1, 0, 0.8)],
    ['min-p 0.1', { temperature: 1, minP: 0.1 }, exact(LOGITS, 1, 0, 1, 0.1)],
    ['top-k 5 + top-p 0.9 at T 0.7', { temperature: 0.7, topK: 5, topP: 0.9 }, exact(LOGITS, 0.7, 5, 0.9)],
  ];
  it.each(cases)('%s', (_, init, probs) => {
    const sampler = new Sampler(V, []);
    const c = ctx(init, 7);
    const draws = Array.from({ length: N }, () => sampler.sample(LOGITS, 0, c));
    const df = probs.filter((p) => p > 0).length - 1;
    expect(chiSquare(draws, probs)).toBeLessThan(CRITICAL[df]!);
    const p = sampler.probabilities(LOGITS, 0, c);
    probs.forEach((x, i) => expect(p[i]).toBeCloseTo(x, 12));
  });

  it('rejection sampling of a draft reproduces the target distribution', () => {
    const sampler = new Sampler(V, []);
    const c = ctx({ temperature: 1 }, 11);
    const probs = exact(LOGITS, 1);
    const draws = Array.from({ length: N }, () => sampler.verifyDraft(LOGITS, 0, c, 0).token);
    expect(chiSquare(draws, probs)).toBeLessThan(CRITICAL[7]!);
  });
});

describe('Sampler', () => {
  it('greedy takes the argmax (lowest id on ties) and draws nothing', () => {
    const sampler = new Sampler(4, []);
    const c = ctx({ temperature: 0 });
    expect(sampler.sample(Float32Array.from([1, 5, 5, 2]), 0, c)).toBe(1);
    expect(c.generator.nextUint32()).toBe(new RandomGenerator(1).nextUint32());
  });

  it('same seed, same tokens; another seed, other tokens', () => {
    const sampler = new Sampler(V, []);
    const a = ctx({ temperature: 1.5 }, 42);
    const b = ctx({ temperature: 1.5 }, 42);
    const c = ctx({ temperature: 1.5 }, 43);
    const seq = (x: SampleContext): number[] => Array.from({ length: 64 }, () => sampler.sample(LOGITS, 0, x));
    const sa = seq(a);
    expect(seq(b)).toEqual(sa);
    expect(seq(c)).not.toEqual(sa);
  });

  it('repetition penalty divides positive and multiplies negative logits of prompt and output tokens', () => {
    const sampler = new Sampler(V, []);
    const logits = Float32Array.from([2, 1.9, 0, -1, -1.2, -5, -5, -5]);
    // Token 0 seen in the prompt: 2 / 1.1 = 1.818 < 1.9, so token 1 wins.
    expect(sampler.sample(logits, 0, ctx({ temperature: 0, repetitionPenalty: 1.1 }, 1, [], [0]))).toBe(1);
    // Negative logits: token 3 seen in the output: -1 * 1.5 = -1.5 < -1.2.
    const neg = Float32Array.from([-1, -1.2, -9, -9, -9, -9, -9, -9]);
    expect(sampler.sample(neg, 0, ctx({ temperature: 0, repetitionPenalty: 1.5 }, 1, [0]))).toBe(1);
  });

  it('frequency and presence penalties subtract per occurrence and once, over output tokens only', () => {
    const sampler = new Sampler(V, []);
    const logits = Float32Array.from([3, 2, 1.5, 0, 0, 0, 0, 0]);
    const probs = (init: SamplingParamsInit, outputs: number[], prompt: number[] = []): Float64Array =>
      sampler.probabilities(logits, 0, ctx({ temperature: 1, ...init }, 1, outputs, prompt)).slice();
    const shifted = Array.from(logits);
    shifted[0] = 3 - 2 * 0.4 - 0.3;
    shifted[1] = 2 - 0.4 - 0.3;
    const want = exact(shifted, 1);
    const got = probs({ frequencyPenalty: 0.4, presencePenalty: 0.3 }, [0, 1, 0], [2, 2]);
    want.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 12));
  });

  it('top-k and top-p ties keep the lowest ids (torch sort order)', () => {
    const sampler = new Sampler(6, []);
    const ties = Float32Array.from([1, 3, 3, 3, 0, -10]);
    const k = sampler.probabilities(ties, 0, ctx({ temperature: 1, topK: 2 }));
    expect(Array.from(k)).toEqual([0, 0.5, 0.5, 0, 0, 0]);
    const p = sampler.probabilities(Float32Array.from([3, 3, 3, -10, -10, -10]), 0, ctx({ temperature: 1, topP: 0.5 }));
    expect(Array.from(p)).toEqual([0.5, 0.5, 0, 0, 0, 0]);
  });

  it('top-p over a large flat row equals the full-sort rule', () => {
    const rng = new RandomGenerator(3);
    const row = Float32Array.from({ length: 5000 }, () => (rng.nextDouble() - 0.5) * 8);
    const sampler = new Sampler(row.length, []);
    const got = sampler.probabilities(row, 0, ctx({ temperature: 1, topP: 0.9, topK: 0 }));
    const want = exact(row, 1, 0, 0.9);
    let kept = 0;
    want.forEach((x, i) => {
      expect(got[i]).toBeCloseTo(x, 12);
      if (x > 0) kept++;
    });
    expect(kept).toBeGreaterThan(1000);
    const both = sampler.probabilities(row, 0, ctx({ temperature: 0.7, topK: 300, topP: 0.8 }));
    exact(row, 0.7, 300, 0.8).forEach((x, i) => expect(both[i]).toBeCloseTo(x, 12));
  });

  it('masks EOS and stop tokens until minTokens outputs exist (EOS kept with ignoreEos)', () => {
    const sampler = new Sampler(V, [7]);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, minTokens: 2 }, 1, [1]))).toBe(0);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, minTokens: 2 }, 1, [1, 1]))).toBe(7);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, minTokens: 2, stopTokenIds: [0] }, 1, []))).toBe(1);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, minTokens: 2, ignoreEos: true }, 1, []))).toBe(7);
  });
});

describe('Sampler: logit bias and allowed token ids (vLLM V1 order: mask, min-tokens, bias, penalties)', () => {
  it('a bias flips the greedy token; -100 bans the argmax', () => {
    const sampler = new Sampler(V, []);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0 }))).toBe(7);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, logitBias: { 2: 2.5 } }))).toBe(2);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, logitBias: { 2: 1.9 } }))).toBe(7);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, logitBias: { 7: -100 } }))).toBe(0);
  });

  it('random sampling follows the biased distribution exactly, and never draws a -100 token', () => {
    const sampler = new Sampler(V, []);
    const c = ctx({ temperature: 1, logitBias: { 4: 3, 0: -1, 7: -100 } }, 9);
    const shifted = Array.from(LOGITS);
    shifted[4] = shifted[4]! + 3;
    shifted[0] = shifted[0]! - 1;
    shifted[7] = shifted[7]! - 100;
    const probs = exact(shifted, 1);
    const draws = Array.from({ length: N }, () => sampler.sample(LOGITS, 0, c));
    expect(draws).not.toContain(7);
    expect(chiSquare(draws, probs.map((x, i) => (i === 7 ? 0 : x)))).toBeLessThan(CRITICAL[6]!);
    const p = sampler.probabilities(LOGITS, 0, c);
    probs.forEach((x, i) => expect(p[i]).toBeCloseTo(x, 12));
  });

  it('the bias is added before the repetition penalty', () => {
    const sampler = new Sampler(V, []);
    const logits = Float32Array.from([2, 2.1, 0, 0, 0, 0, 0, 0]);
    // Before the penalty: (2 + 1) / 1.5 = 2.0 < 2.1. After it would be 2 / 1.5 + 1 = 2.33 > 2.1.
    expect(sampler.sample(logits, 0, ctx({ temperature: 0, logitBias: { 0: 1 }, repetitionPenalty: 1.5 }, 1, [], [0]))).toBe(1);
    const p = sampler.probabilities(logits, 0, ctx({ temperature: 1, logitBias: { 0: 1 }, repetitionPenalty: 1.5 }, 1, [], [0]));
    const want = exact([2, Math.fround(2.1), 0, 0, 0, 0, 0, 0], 1);
    want.forEach((x, i) => expect(p[i]).toBeCloseTo(x, 12));
  });

  it('ids past the row are ignored (the engine refuses them before they get here)', () => {
    const sampler = new Sampler(V, []);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, logitBias: { 8: 100 } }))).toBe(7);
  });

  it('allowedTokenIds: only those tokens, in their exact renormalised proportions', () => {
    const sampler = new Sampler(V, []);
    expect(sampler.sample(LOGITS, 0, ctx({ temperature: 0, allowedTokenIds: [2, 5] }))).toBe(2);
    const c = ctx({ temperature: 1, allowedTokenIds: [1, 4, 6], logitBias: { 6: 2 } }, 3);
    const draws = Array.from({ length: N }, () => sampler.sample(LOGITS, 0, c));
    const z = [0, Math.exp(1.5), 0, 0, Math.exp(0), 0, Math.exp(-1 + 2), 0];
    const sum = z.reduce((a, b) => a + b, 0);
    expect(chiSquare(draws, z.map((x) => x / sum))).toBeLessThan(CRITICAL[2]!);
  });
});

describe('logprobs', () => {
  it('gives log-softmax values, the chosen rank and the top list in order', () => {
    const lse = Math.log(Array.from(LOGITS).reduce((a, x) => a + Math.exp(x), 0));
    const lp = tokenLogprobs(LOGITS, 0, V, 2, 3);
    expect(lp.chosen.tokenId).toBe(2);
    expect(lp.chosen.rank).toBe(4);
    expect(lp.chosen.logprob).toBeCloseTo(1.0 - lse, 6);
    expect(lp.top.map((x) => x.tokenId)).toEqual([7, 0, 1]);
    expect(lp.top.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(lp.top[0]!.logprob).toBeCloseTo(3 - lse, 6);
    expect(tokenLogprobs(LOGITS, 0, V, 7, 0).top).toEqual([]);
  });

  it('topIndices agrees with a full sort, small and large k', () => {
    const rng = new RandomGenerator(5);
    const row = Float32Array.from({ length: 500 }, () => Math.floor(rng.nextDouble() * 50));
    const sorted = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
    expect(topIndices(row, 0, 500, 10)).toEqual(sorted.slice(0, 10));
    expect(topIndices(row, 0, 500, 200)).toEqual(sorted.slice(0, 200));
  });
});
