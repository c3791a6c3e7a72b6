import { describe, expect, it } from 'vitest';
import { percentile, summarize } from './stats.js';

describe('summarize', () => {
  it('matches numpy linear-interpolation percentiles and population std', () => {
    // numpy: np.percentile([1,2,3,4,10], [50, 90, 99]) = [3, 7.6, 9.76]; np.std = 3.1623
    const s = summarize([10, 1, 4, 3, 2], [50, 90, 99]);
    expect(s.median).toBe(3);
    expect(s.percentiles.p90).toBeCloseTo(7.6, 10);
    expect(s.percentiles.p99).toBeCloseTo(9.76, 10);
    expect(s.mean).toBe(4);
    expect(s.std).toBeCloseTo(Math.sqrt(10), 10);
    expect([s.min, s.max, s.count]).toEqual([1, 10, 5]);
  });

  it('reports zeros for an empty sample, as vLLM does', () => {
    expect(summarize([])).toMatchObject({ count: 0, mean: 0, median: 0, std: 0 });
    expect(percentile([], 50)).toBe(0);
  });
});
