import { describe, expect, it } from 'vitest';
import { arrivalTimes, parseRate } from './arrivals.js';
import { summarize } from './stats.js';

describe('arrivalTimes', () => {
  it('gaps have mean 1/rate; lower burstiness gives a larger spread (gamma CV = 1/sqrt(k))', () => {
    const gaps = (k: number) => {
      const t = arrivalTimes(20_000, 10, k, 7);
      return t.slice(1).map((v, i) => v - t[i]!);
    };
    const poisson = summarize(gaps(1));
    expect(poisson.mean).toBeGreaterThan(0.095);
    expect(poisson.mean).toBeLessThan(0.105);
    expect(poisson.std / poisson.mean).toBeGreaterThan(0.95);
    expect(poisson.std / poisson.mean).toBeLessThan(1.05);
    const bursty = summarize(gaps(0.25));
    expect(bursty.mean).toBeGreaterThan(0.09);
    expect(bursty.mean).toBeLessThan(0.11);
    expect(bursty.std / bursty.mean).toBeGreaterThan(1.8);
  });

  it('inf sends everything at 0; same seed same schedule', () => {
    expect(arrivalTimes(3, Infinity)).toEqual([0, 0, 0]);
    expect(arrivalTimes(50, 3, 2, 1)).toEqual(arrivalTimes(50, 3, 2, 1));
    expect(parseRate('inf')).toBe(Infinity);
    expect(() => parseRate('0')).toThrow(/request-rate/);
    expect(() => arrivalTimes(2, 1, 0)).toThrow(/burstiness/);
  });
});
