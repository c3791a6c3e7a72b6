import { describe, expect, it } from 'vitest';
import { LLAMA31_8B_H200, parseCostModel, stepTime } from './cost-model.js';

describe('stepTime', () => {
  it('a decode step of 64 requests at 1k context costs weights + KV reads + matmuls + overhead', () => {
    const m = LLAMA31_8B_H200;
    const work = Array.from({ length: 64 }, () => ({ numTokens: 1, numComputedTokens: 1023 }));
    const expected = 0.5e-3 + (16.06e9 + 64 * 1024 * 131072) / 4.3e12 + (2 * 8.03e9 * 64 + 64 * 4 * 32 * 4096 * 1024) / 800e12;
    expect(stepTime(m, work)).toBeCloseTo(expected, 12);
    // ~6.3 ms: inside the 5-13 ms an 8B step takes on an H100 per vLLM's v0.6.0 profile.
    expect(stepTime(m, work)).toBeGreaterThan(0.005);
    expect(stepTime(m, work)).toBeLessThan(0.013);
  });

  it('prefill is compute-bound: 8k tokens take ~ 2 * params * tokens / FLOPs', () => {
    const t = stepTime(LLAMA31_8B_H200, [{ numTokens: 8192, numComputedTokens: 0 }]);
    expect(t).toBeGreaterThan((2 * 8.03e9 * 8192) / 800e12);
    expect(t).toBeLessThan(0.25);
    expect(stepTime(LLAMA31_8B_H200, [])).toBe(0);
  });

  it('parses overrides and names unknown keys', () => {
    const m = parseCostModel(LLAMA31_8B_H200, 'memBandwidth=3.35e12, overheadS=0');
    expect(m.memBandwidth).toBe(3.35e12);
    expect(m.overheadS).toBe(0);
    expect(m.flops).toBe(800e12);
    expect(() => parseCostModel(LLAMA31_8B_H200, 'bandwidth=1')).toThrow(/bandwidth/);
    expect(() => parseCostModel(LLAMA31_8B_H200, 'flops=-1')).toThrow(/flops/);
  });
});
