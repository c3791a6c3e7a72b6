import { resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { RandomGenerator } from '../sample/random-generator.js';
import { Sampler } from '../sample/sampler.js';
import { RejectionSampler, type DraftVerification } from './rejection-sampler.js';

const V = 6;

/** Chi-square critical values at a false-alarm rate of 1e-9, by degrees of freedom (scipy chi2.isf). */
const CHI2_1E9 = [0, 37.32, 41.45, 44.84, 47.88, 50.69];

/** The target distribution, written out independently of the sampler: softmax(logits / t), top-k, renormalised. */
function target(row: readonly number[], temperature: number, topK = 0): number[] {
  const z = row.map((x) => Math.exp(x / temperature));
  const order = z.map((_, i) => i).sort((a, b) => z[b]! - z[a]!);
  if (topK > 0) for (const i of order.slice(topK)) z[i] = 0;
  const s = z.reduce((a, b) => a + b, 0);
  return z.map((x) => x / s);
}

/** Target with presence penalty (on `seen`), temperature, min-p, top-k and top-p, in the engine's order. */
function fullTarget(row: readonly number[], o: { temperature: number; presencePenalty: number; minP: number; topK: number; topP: number }, seen: readonly number[]): number[] {
  const z = row.map((x, i) => Math.exp((x - (seen.includes(i) ? o.presencePenalty : 0)) / o.temperature));
  const top = Math.max(...z);
  const p = z.map((x) => (x / top < o.minP ? 0 : x));
  const order = p.map((_, i) => i).sort((a, b) => p[b]! - p[a]!);
  for (const i of order.slice(o.topK)) p[i] = 0;
  const total = p.reduce((a, b) => a + b, 0);
  let kept = 0;
  for (const i of order) {
    if (kept >= o.topP * total) p[i] = 0;
    else kept += p[i]!;
  }
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s);
}

function chiSquare(counts: readonly number[], probs: readonly number[]): { chi: number; df: number } {
  const n = counts.reduce((a, b) => a + b, 0);
  let chi = 0;
  let df = -1;
  probs.forEach((p, i) => {
    if (p === 0) {
      expect(counts[i], `token ${i} has probability 0`).toBe(0);
      return;
    }
    chi += (counts[i]! - n * p) ** 2 / (n * p);
    df++;
  });
  return { chi, df };
}

function verification(rows: number[][], drafts: number[], init: SamplingParamsInit, generator: RandomGenerator, outputs: number[] = []): DraftVerification {
  return {
    logits: Float32Array.from(rows.flat()),
    rows: rows.map((_, i) => i),
    draftTokenIds: drafts,
    params: resolveSamplingParams(init),
    promptTokenIds: [0],
    outputTokenIds: outputs,
    generator,
  };
}

const ROWS = [
  [1.2, 0.3, -0.4, 2.0, 0.9, -1.5],
  [0.1, 1.7, 0.5, -0.2, 1.1, 0.0],
  [-0.3, 0.4, 1.9, 0.2, -1.0, 0.8],
];

describe('RejectionSampler, greedy', () => {
  const sampler = new RejectionSampler(new Sampler(V, [5]));

  it('accepts while the draft equals the argmax and appends the bonus argmax', () => {
    const g = new RandomGenerator(7);
    const r = sampler.sample(verification(ROWS, [3, 1], { temperature: 0 }, g));
    expect(r).toEqual({ tokenIds: [3, 1, 2], numAccepted: 2 });
    expect(g.nextDouble()).toBe(new RandomGenerator(7).nextDouble());
  });

  it('stops at the first mismatch and emits the argmax there as the correction', () => {
    const g = new RandomGenerator(7);
    expect(sampler.sample(verification(ROWS, [3, 4], { temperature: 0 }, g))).toEqual({ tokenIds: [3, 1], numAccepted: 1 });
    expect(sampler.sample(verification(ROWS, [0, 1], { temperature: 0 }, g))).toEqual({ tokenIds: [3], numAccepted: 0 });
    expect(sampler.sample(verification([ROWS[0]!], [], { temperature: 0 }, g))).toEqual({ tokenIds: [3], numAccepted: 0 });
  });

  it('scores each position with the accepted drafts before it in the penalty context', () => {
    // Row 1 without penalty prefers 3 (2.0 vs 1.9); token 3 accepted at position 0 is penalised at position 1.
    const rows = [ROWS[0]!, [0, 0, 0, 2.0, 1.9, 0], ROWS[2]!];
    const r = sampler.sample(verification(rows, [3, 4], { temperature: 0, repetitionPenalty: 1.2 }, new RandomGenerator(1)));
    expect(r).toEqual({ tokenIds: [3, 4, 2], numAccepted: 2 });
    expect(sampler.sample(verification(rows, [3, 4], { temperature: 0 }, new RandomGenerator(1)))).toEqual({ tokenIds: [3, 3], numAccepted: 1 });
  });

  it('masks EOS below minTokens at draft positions too', () => {
    const rows = [[0, 0, 0, 0, 0, 9], [0, 0, 0, 0, 0, 9]];
    expect(sampler.sample(verification(rows, [5], { temperature: 0, minTokens: 3 }, new RandomGenerator(1))).tokenIds).toEqual([0]);
    expect(sampler.sample(verification(rows, [5], { temperature: 0 }, new RandomGenerator(1))).tokenIds).toEqual([5, 5]);
  });

  it('rejects a malformed verification with typed errors', () => {
    const g = new RandomGenerator(1);
    expect(() => sampler.sample({ ...verification(ROWS, [3, 1], { temperature: 0 }, g), rows: [0, 1] })).toThrow(/rows must be one row per draft plus the bonus row \(3\) \(got 2\)/);
    expect(() => sampler.sample(verification(ROWS, [3, 6], { temperature: 0 }, g))).toThrow(expect.objectContaining({ code: 'invalid_draft' }));
  });
});

describe('RejectionSampler, random sampling keeps the target distribution', () => {
  const sampler = new Sampler(V, [5]);
  const rejection = new RejectionSampler(sampler);
  const TRIALS = 20_000;
  const params = { temperature: 0.9, topK: 5 };

  it('first emitted token ~ target, for every draft (including one top-k removed)', () => {
    const p = target(ROWS[0]!, 0.9, 5);
    expect(p[5]).toBe(0);
    for (let draft = 0; draft < V; draft++) {
      const input = verification(ROWS, [draft, 1], params, new RandomGenerator(1000 + draft));
      const counts = Array.from({ length: V }, () => 0);
      let accepted = 0;
      for (let t = 0; t < TRIALS; t++) {
        const r = rejection.sample(input);
        counts[r.tokenIds[0]!]!++;
        if (r.numAccepted > 0) accepted++;
      }
      const { chi, df } = chiSquare(counts, p);
      expect(chi, `draft ${draft}: counts ${counts.join(',')}`).toBeLessThan(CHI2_1E9[df]!);
      // The acceptance rate itself is p(draft) (q = 1): within 6 standard deviations.
      expect(Math.abs(accepted / TRIALS - p[draft]!)).toBeLessThan(6 * Math.sqrt(0.25 / TRIALS));
    }
  });

  it('second token ~ its target given the first draft was accepted, and the bonus ~ the last row', () => {
    const p1 = target(ROWS[1]!, 0.9, 5);
    const p2 = target(ROWS[2]!, 0.9, 5);
    const second = Array.from({ length: V }, () => 0);
    const bonus = Array.from({ length: V }, () => 0);
    const input = verification(ROWS, [3, 1], params, new RandomGenerator(99));
    for (let t = 0; t < TRIALS * 2; t++) {
      const r = rejection.sample(input);
      if (r.numAccepted >= 1) second[r.tokenIds[1]!]!++;
      if (r.numAccepted === 2) bonus[r.tokenIds[2]!]!++;
    }
    for (const [counts, p] of [[second, p1], [bonus, p2]] as const) {
      expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(3000);
      const { chi, df } = chiSquare(counts, p);
      expect(chi, `counts ${counts.join(',')}`).toBeLessThan(CHI2_1E9[df]!);
    }
  });

  it('with a presence penalty, min-p, top-k and top-p: the second token follows the target after the accepted draft', () => {
    const o = { temperature: 0.7, presencePenalty: 0.8, minP: 0.05, topK: 5, topP: 0.9 };
    const p0 = fullTarget(ROWS[0]!, o, []);
    const p1 = fullTarget(ROWS[1]!, o, [4]);
    expect(p0.filter((x) => x === 0).length).toBeGreaterThanOrEqual(1);
    const input = verification(ROWS, [4, 1], o, new RandomGenerator(77));
    const first = Array.from({ length: V }, () => 0);
    const second = Array.from({ length: V }, () => 0);
    for (let t = 0; t < TRIALS * 2; t++) {
      const r = rejection.sample(input);
      first[r.tokenIds[0]!]!++;
      if (r.numAccepted >= 1) second[r.tokenIds[1]!]!++;
    }
    for (const [counts, p] of [[first, p0], [second, p1]] as const) {
      expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(3000);
      const { chi, df } = chiSquare(counts, p);
      expect(chi, `counts ${counts.join(',')} vs ${p.map((x) => x.toFixed(3)).join(',')}`).toBeLessThan(CHI2_1E9[df]!);
    }
  });

  it('the same check catches a residual that forgets to remove the draft (negative control)', () => {
    const p = target(ROWS[0]!, 0.9, 5);
    const draft = 3;
    const g = new RandomGenerator(5);
    const counts = Array.from({ length: V }, () => 0);
    const ctx = { params: resolveSamplingParams(params), promptTokenIds: [0], outputTokenIds: [], generator: g };
    const row = Float32Array.from(ROWS[0]!);
    for (let t = 0; t < TRIALS; t++) {
      const q = sampler.probabilities(row, 0, ctx);
      if (g.nextDouble() < q[draft]!) counts[draft]!++;
      else counts[sampler.sample(row, 0, ctx)]!++;
    }
    const { chi, df } = chiSquare(counts, p);
    expect(chi).toBeGreaterThan(10 * CHI2_1E9[df]!);
  });

  it('a seeded request reproduces its tokens', () => {
    const run = (): number[][] => {
      const g = new RandomGenerator(42);
      return Array.from({ length: 50 }, () => rejection.sample(verification(ROWS, [3, 1], params, g)).tokenIds);
    };
    expect(run()).toEqual(run());
  });
});
