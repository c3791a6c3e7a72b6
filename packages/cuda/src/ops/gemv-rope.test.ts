import { afterEach, describe, expect, it } from 'vitest';
import { synchronizeDevice } from '../device.js';
import { computeRopeCosSinCache } from '../rope-cache.js';
import { TensorScope, cudaAvailable, gpuSuite } from '../testing/gpu.js';
import { Rng } from '../testing/random.js';
import { gemv } from './gemm.js';
import { gemvRotaryWithKvCache } from './gemv-rope.js';
import { rotaryEmbeddingWithKvCache } from './rotary.js';

const bits = (t: { toHost(): Float32Array | Int32Array }) => Array.from(t.toHost());

describe.skipIf(!cudaAvailable)(gpuSuite('qkv projection fused with RoPE and the KV write'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  // Llama-3.1-8B's heads (32 / 8 x 128) at k = 4096; small GQA heads of 64 with a long ragged k (the
  // long-row kernel variant); MHA of head dim 8 (one rotation pair per block).
  for (const [dtype, m, numHeads, numKvHeads, headDim, k] of [
    ['bfloat16', 1, 32, 8, 128, 4096], ['float16', 3, 6, 2, 64, 8200], ['bfloat16', 8, 4, 4, 8, 264], ['bfloat16', 5, 8, 1, 128, 1304],
  ] as const) {
    it(`equals gemv then rotaryEmbeddingWithKvCache bit for bit (${dtype}, m = ${m}, ${numHeads}/${numKvHeads} heads of ${headDim}, k = ${k})`, () => {
      const rng = new Rng();
      const [maxPos, blockSize, numBlocks] = [4096, 16, 6];
      const n = (numHeads + 2 * numKvHeads) * headDim;
      const rowWidth = numKvHeads * headDim;
      const a = scope.from(rng.tensor(m * k, dtype), [m, k], dtype);
      const w = scope.from(rng.tensor(n * k, dtype, 0.05), [n, k], dtype);
      const positions = scope.from(Int32Array.from({ length: m }, () => rng.int(0, maxPos)), [m], 'int32');
      const slotHost = rng.permutation(numBlocks * blockSize).subarray(0, m);
      if (m > 1) slotHost[1] = -1; // padding: rotated, not cached
      const slots = scope.from(slotHost, [m], 'int32');
      const cosSin = scope.from(computeRopeCosSinCache({ rotaryDim: headDim, maxPosition: maxPos, base: 500000 }), [maxPos, headDim], 'float32');
      const shape = [numBlocks, blockSize, numKvHeads, headDim];
      const kcInit = rng.tensor(numBlocks * blockSize * rowWidth, dtype);
      const vcInit = rng.tensor(numBlocks * blockSize * rowWidth, dtype);

      const fusedOut = scope.poisoned([m, n], dtype);
      const [kcF, vcF] = [scope.from(kcInit, shape, dtype), scope.from(vcInit, shape, dtype)];
      const geometry = { numHeads, numKvHeads, headDim };
      gemvRotaryWithKvCache({ out: fusedOut, a, weight: w, positions, cosSinCache: cosSin, keyCache: kcF, valueCache: vcF, slotMapping: slots, ...geometry });

      const out = scope.poisoned([m, n], dtype);
      const [kc, vc] = [scope.from(kcInit, shape, dtype), scope.from(vcInit, shape, dtype)];
      gemv({ out, a, weight: w });
      rotaryEmbeddingWithKvCache({
        positions, query: out.columns(0, numHeads * headDim), key: out.columns(numHeads * headDim, rowWidth),
        value: out.columns(numHeads * headDim + rowWidth, rowWidth), cosSinCache: cosSin, keyCache: kc, valueCache: vc, slotMapping: slots, ...geometry,
      });
      synchronizeDevice();
      expect(bits(fusedOut), `seed ${rng.seed}: q, k, v rows`).toEqual(bits(out));
      expect(bits(fusedOut).some(Number.isNaN), `seed ${rng.seed}: every output written`).toBe(false);
      expect(bits(kcF), `seed ${rng.seed}: key cache`).toEqual(bits(kc));
      expect(bits(vcF), `seed ${rng.seed}: value cache`).toEqual(bits(vc));
    });
  }

  it('rejects a partial rotary dim, a head dim not a multiple of 8 and more than 8 rows', () => {
    const [numHeads, numKvHeads, headDim, k] = [2, 1, 16, 32];
    const n = (numHeads + 2 * numKvHeads) * headDim;
    const base = {
      weight: scope.from(new Float32Array(n * k), [n, k], 'bfloat16'), positions: scope.from(Int32Array.of(0), [1], 'int32'),
      keyCache: scope.poisoned([2, 4, numKvHeads, headDim], 'bfloat16'), valueCache: scope.poisoned([2, 4, numKvHeads, headDim], 'bfloat16'),
      slotMapping: scope.from(Int32Array.of(0), [1], 'int32'), numHeads, numKvHeads, headDim,
      a: scope.from(new Float32Array(k), [1, k], 'bfloat16'), out: scope.poisoned([1, n], 'bfloat16'),
    };
    const partial = scope.from(new Float32Array(8 * 8), [8, 8], 'float32');
    expect(() => gemvRotaryWithKvCache({ ...base, cosSinCache: partial })).toThrow(/gemvRotaryWithKvCache\.cosSinCache\.shape/);
    const cosSin = scope.from(new Float32Array(8 * headDim), [8, headDim], 'float32');
    expect(() => gemvRotaryWithKvCache({ ...base, cosSinCache: cosSin, headDim: 12 })).toThrow(/gemvRotaryWithKvCache\.headDim must be a multiple of 8/);
    const a9 = scope.from(new Float32Array(9 * k), [9, k], 'bfloat16');
    expect(() => gemvRotaryWithKvCache({ ...base, cosSinCache: cosSin, a: a9, out: scope.poisoned([9, n], 'bfloat16') })).toThrow(/gemvRotaryWithKvCache\.a\.shape\[0\] must be 1 to 8 rows/);
  });
});
