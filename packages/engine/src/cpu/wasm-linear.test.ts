import { describe, expect, it } from 'vitest';
import { linear } from './kernels.js';
import { WasmLinear } from './wasm-linear.js';

describe('WasmLinear', () => {
  it.each([
    [1, 4, 1],
    [3, 8, 7],
    [5, 64, 13],
    [64, 176, 64],
    [130, 64, 50],
  ] as const)('matches the JS kernel for rows %i, in %i, out %i (tails, row chunks, bias or none)', (rows, inDim, outDim) => {
    const k = WasmLinear.create(inDim * outDim + outDim + 16, inDim, outDim)!;
    expect(k).not.toBeNull();
    const w = k.alloc(inDim * outDim);
    w.set(Float32Array.from({ length: inDim * outDim }, (_, i) => Math.sin(i * 1.3)));
    const b = k.alloc(outDim);
    b.set(Float32Array.from({ length: outDim }, (_, i) => i * 0.1));
    const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.cos(i * 0.7));
    for (const bias of [b, null]) {
      const want = new Float32Array(rows * outDim);
      const got = new Float32Array(rows * outDim);
      linear(want, x, w, bias, rows, inDim, outDim);
      k.linear(got, x, w, bias, rows, inDim, outDim);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want[i]!)) * Math.sqrt(inDim));
    }
  });

  it('refuses weights from outside its memory and an input width not a multiple of 4', () => {
    const k = WasmLinear.create(64, 8, 8)!;
    const out = new Float32Array(8);
    expect(() => k.linear(out, new Float32Array(8), new Float32Array(64), null, 1, 8, 8)).toThrow(/needs its own weights/);
    expect(() => k.linear(out, new Float32Array(6), k.alloc(48), null, 1, 6, 8)).toThrow(/inDim % 4/);
    expect(() => k.alloc(1 << 20)).toThrow(/memory exhausted/);
  });
});
