import { describe, expect, it } from 'vitest';
import { computeRopeCosSinCache, ropeInverseFrequencies } from './rope-cache.js';

const LLAMA31 = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } as const;

describe('RoPE cos/sin cache', () => {
  it('default: invFreq[i] = base^(-2i/dim), cos 1 and sin 0 at position 0', () => {
    const { invFreq, attentionScale } = ropeInverseFrequencies({ rotaryDim: 8, maxPosition: 1, base: 10000 });
    expect([...invFreq]).toEqual([1, 0.1, 0.01, 0.001].map((v, i) => expect.closeTo(v, 15 - i)));
    expect(attentionScale).toBe(1);
    const cache = computeRopeCosSinCache({ rotaryDim: 8, maxPosition: 3, base: 10000 });
    expect([...cache.subarray(0, 8)]).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(cache[8 + 0]).toBeCloseTo(Math.cos(1), 6);
    expect(cache[8 + 4 + 1]).toBeCloseTo(Math.sin(0.1), 6);
  });

  it('linear: position p sees the default angles of p / factor', () => {
    const lin = computeRopeCosSinCache({ rotaryDim: 16, maxPosition: 9, base: 500, scaling: { type: 'linear', factor: 4 } });
    const def = computeRopeCosSinCache({ rotaryDim: 16, maxPosition: 3, base: 500 });
    expect(lin.subarray(8 * 16, 9 * 16)).toEqual(def.subarray(2 * 16, 3 * 16));
  });

  it('llama3: keeps high frequencies, divides low ones by the factor, blends between', () => {
    const opts = { rotaryDim: 128, maxPosition: 1, base: 500000 };
    const base = ropeInverseFrequencies(opts).invFreq;
    const scaled = ropeInverseFrequencies({ ...opts, scaling: LLAMA31 }).invFreq;
    let blended = 0;
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / base[i]!;
      if (wavelen < 8192 / 4) expect(scaled[i]).toBe(base[i]);
      else if (wavelen > 8192) expect(scaled[i]).toBeCloseTo(base[i]! / 8, 15);
      else {
        blended++;
        expect(scaled[i]!).toBeLessThan(base[i]!);
        expect(scaled[i]!).toBeGreaterThan(base[i]! / 8);
      }
    }
    expect(blended).toBeGreaterThan(0);
  });

  it('yarn: extrapolates fast dims, interpolates slow ones, scales magnitude by 0.1 ln(s) + 1', () => {
    const opts = { rotaryDim: 64, maxPosition: 2, base: 10000 };
    const base = ropeInverseFrequencies(opts).invFreq;
    const { invFreq, attentionScale } = ropeInverseFrequencies({
      ...opts,
      scaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 4096 },
    });
    expect(attentionScale).toBeCloseTo(0.1 * Math.log(4) + 1, 12);
    expect(invFreq[0]).toBe(base[0]);
    expect(invFreq[31]).toBeCloseTo(base[31]! / 4, 15);
    for (let i = 1; i < 32; i++) expect(invFreq[i]! / base[i]!).toBeLessThanOrEqual(invFreq[i - 1]! / base[i - 1]! + 1e-12);
    const cache = computeRopeCosSinCache({ ...opts, scaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 4096 } });
    expect(cache[0]).toBeCloseTo(attentionScale, 6);
  });

  it('rejects an odd rotary dim and unknown scaling types', () => {
    expect(() => computeRopeCosSinCache({ rotaryDim: 7, maxPosition: 1, base: 10000 })).toThrow(/rotaryDim must be an even integer/);
    expect(() =>
      computeRopeCosSinCache({ rotaryDim: 8, maxPosition: 1, base: 10000, scaling: { type: 'dynamic' } as never }),
    ).toThrow(/scaling\.type must be/);
  });
});
