import { afterEach, describe, expect, it } from 'vitest';
import { synchronizeDevice } from '../device.js';
import type { FloatDType } from '../dtype.js';
import { pagedAttentionReference, rotaryReference, writeKvCacheReference } from '../reference/attention.js';
import { computeRopeCosSinCache } from '../rope-cache.js';
import type { RopeScaling } from '../rope-cache.js';
import { FLOAT_DTYPES, TensorScope, cudaAvailable, gpuSuite } from '../testing/gpu.js';
import { Rng, relativeError, tolerance } from '../testing/random.js';
import { decodeWorkspaceFloats, pagedAttentionDecode, pagedAttentionPrefill, writeKvCache } from './attention.js';
import { rotaryEmbedding } from './rotary.js';

const SCALINGS: readonly RopeScaling[] = [
  { type: 'default' },
  { type: 'linear', factor: 4 },
  { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 256 },
  { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 256 },
];

/** A random paged layout: each sequence's blocks drawn from a shuffled pool. */
function pagedLayout(rng: Rng, seqLens: number[], blockSize: number) {
  const maxBlocksPerSeq = Math.max(...seqLens.map((l) => Math.ceil(l / blockSize))) + 1;
  const numBlocks = seqLens.reduce((a, l) => a + Math.ceil(l / blockSize), 0) + 3;
  const pool = rng.permutation(numBlocks);
  const blockTables = new Int32Array(seqLens.length * maxBlocksPerSeq).fill(-7); // garbage past the end
  let next = 0;
  seqLens.forEach((l, s) => {
    for (let b = 0; b < Math.ceil(l / blockSize); b++) blockTables[s * maxBlocksPerSeq + b] = pool[next++]!;
  });
  return { maxBlocksPerSeq, numBlocks, blockTables };
}

describe.skipIf(!cudaAvailable)(gpuSuite('rotary embedding and paged attention'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  for (const dtype of FLOAT_DTYPES) {
    for (const scaling of SCALINGS) {
      it(`rotaryEmbedding (${scaling.type}, ${dtype}) rotates q and k inside a fused qkv tensor`, () => {
        const rng = new Rng();
        const [n, numHeads, numKvHeads, headDim, maxPos] = [45, 6, 2, 64, 1024];
        const rotaryDim = scaling.type === 'linear' ? 32 : headDim; // one partial-rotary case
        const width = (numHeads + 2 * numKvHeads) * headDim;
        const qkv = rng.tensor(n * width, dtype);
        const positions = Int32Array.from({ length: n }, () => rng.int(0, maxPos));
        const cache = computeRopeCosSinCache({ rotaryDim, maxPosition: maxPos, base: 10000, scaling });
        const qkvDev = scope.from(qkv, [n, width], dtype);
        rotaryEmbedding({
          positions: scope.from(positions, [n], 'int32'),
          query: qkvDev.columns(0, numHeads * headDim),
          key: qkvDev.columns(numHeads * headDim, numKvHeads * headDim),
          cosSinCache: scope.from(cache, [maxPos, rotaryDim], 'float32'),
          numHeads,
          numKvHeads,
          headDim,
        });
        synchronizeDevice();
        const q = new Float32Array(n * numHeads * headDim);
        const k = new Float32Array(n * numKvHeads * headDim);
        for (let t = 0; t < n; t++) {
          q.set(qkv.subarray(t * width, t * width + numHeads * headDim), t * numHeads * headDim);
          k.set(qkv.subarray(t * width + numHeads * headDim, t * width + (numHeads + numKvHeads) * headDim), t * numKvHeads * headDim);
        }
        rotaryReference(positions, q, k, cache, rotaryDim, { numHeads, numKvHeads, headDim });
        const ref = Float32Array.from(qkv);
        for (let t = 0; t < n; t++) {
          ref.set(q.subarray(t * numHeads * headDim, (t + 1) * numHeads * headDim), t * width);
          ref.set(k.subarray(t * numKvHeads * headDim, (t + 1) * numKvHeads * headDim), t * width + numHeads * headDim);
        }
        expect(relativeError(qkvDev.toHost(), ref), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
      });
    }

    it(`writeKvCache writes key/value views into their slots and skips negative slots (${dtype})`, () => {
      const rng = new Rng();
      const [n, numKvHeads, headDim, blockSize, numBlocks] = [30, 2, 32, 16, 8];
      const rowWidth = numKvHeads * headDim;
      const width = 4 * rowWidth;
      const kv = rng.tensor(n * width, dtype);
      const slots = rng.permutation(numBlocks * blockSize).subarray(0, n);
      slots[4] = -1;
      const kc = rng.tensor(numBlocks * blockSize * rowWidth, dtype);
      const vc = rng.tensor(numBlocks * blockSize * rowWidth, dtype);
      const kvDev = scope.from(kv, [n, width], dtype);
      const shape = [numBlocks, blockSize, numKvHeads, headDim];
      const kcDev = scope.from(kc, shape, dtype);
      const vcDev = scope.from(vc, shape, dtype);
      writeKvCache({
        key: kvDev.columns(2 * rowWidth, rowWidth),
        value: kvDev.columns(3 * rowWidth, rowWidth),
        keyCache: kcDev,
        valueCache: vcDev,
        slotMapping: scope.from(slots, [n], 'int32'),
      });
      synchronizeDevice();
      const key = new Float32Array(n * rowWidth);
      const value = new Float32Array(n * rowWidth);
      for (let t = 0; t < n; t++) {
        key.set(kv.subarray(t * width + 2 * rowWidth, t * width + 3 * rowWidth), t * rowWidth);
        value.set(kv.subarray(t * width + 3 * rowWidth, t * width + 4 * rowWidth), t * rowWidth);
      }
      writeKvCacheReference(key, value, kc, vc, slots, rowWidth);
      expect(relativeError(kcDev.toHost(), kc), `seed ${rng.seed}`).toBe(0);
      expect(relativeError(vcDev.toHost(), vc), `seed ${rng.seed}`).toBe(0);
    });
  }

  const CASES: { dtype: FloatDType; headDim: number; numHeads: number; numKvHeads: number; blockSize: number }[] = [
    { dtype: 'bfloat16', headDim: 128, numHeads: 8, numKvHeads: 2, blockSize: 16 },
    { dtype: 'bfloat16', headDim: 64, numHeads: 4, numKvHeads: 1, blockSize: 32 },
    { dtype: 'float16', headDim: 128, numHeads: 4, numKvHeads: 4, blockSize: 16 },
    { dtype: 'float32', headDim: 32, numHeads: 4, numKvHeads: 2, blockSize: 8 },
    { dtype: 'float32', headDim: 16, numHeads: 2, numKvHeads: 1, blockSize: 16 },
    { dtype: 'float16', headDim: 8, numHeads: 4, numKvHeads: 2, blockSize: 16 },
    { dtype: 'bfloat16', headDim: 32, numHeads: 16, numKvHeads: 1, blockSize: 16 },
    { dtype: 'float32', headDim: 64, numHeads: 6, numKvHeads: 3, blockSize: 16 },
  ];

  for (const c of CASES) {
    const label = `${c.dtype}, head dim ${c.headDim}, ${c.numHeads}/${c.numKvHeads} heads, block ${c.blockSize}`;

    it(`pagedAttentionPrefill: causal chunks over cached context (${label})`, () => {
      const rng = new Rng();
      // Whole prompts, chunks after cached context, a single token, and a chunk longer than one tile.
      const qLens = [37, 70, 1, 5];
      const seqLens = [37, 70 + rng.int(1, 90), 1 + rng.int(0, 40), 5 + rng.int(100, 300)];
      runAttention(rng, c, qLens, seqLens, 'prefill');
    });

    it(`pagedAttentionDecode: split-K over contexts up to 3 partitions (${label})`, () => {
      const rng = new Rng();
      const seqLens = [1, rng.int(2, 512), 512, rng.int(513, 1536)];
      runAttention(rng, c, seqLens.map(() => 1), seqLens, 'decode');
    });
  }

  function runAttention(rng: Rng, c: (typeof CASES)[number], qLens: number[], seqLens: number[], mode: 'prefill' | 'decode') {
    const { dtype, headDim, numHeads, numKvHeads, blockSize } = c;
    const { maxBlocksPerSeq, numBlocks, blockTables } = pagedLayout(rng, seqLens, blockSize);
    const cacheShape = [numBlocks, blockSize, numKvHeads, headDim];
    const cacheLen = numBlocks * blockSize * numKvHeads * headDim;
    const keyCache = rng.tensor(cacheLen, dtype);
    const valueCache = rng.tensor(cacheLen, dtype);
    const queryStartLoc = Int32Array.from([0, ...qLens.map((_, i) => qLens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    const numTokens = queryStartLoc[qLens.length]!;
    const query = rng.tensor(numTokens * numHeads * headDim, dtype);
    const scale = 1 / Math.sqrt(headDim);
    const common = {
      out: scope.poisoned([numTokens, numHeads * headDim], dtype),
      query: scope.from(query, [numTokens, numHeads * headDim], dtype),
      keyCache: scope.from(keyCache, cacheShape, dtype),
      valueCache: scope.from(valueCache, cacheShape, dtype),
      blockTables: scope.from(blockTables, [seqLens.length, maxBlocksPerSeq], 'int32'),
      seqLens: scope.from(Int32Array.from(seqLens), [seqLens.length], 'int32'),
      numHeads,
      scale,
    };
    if (mode === 'prefill') {
      pagedAttentionPrefill({
        ...common,
        queryStartLoc: scope.from(queryStartLoc, [qLens.length + 1], 'int32'),
        maxQueryLen: Math.max(...qLens),
      });
    } else {
      const maxSeqLen = Math.max(...seqLens);
      const ws = scope.poisoned([decodeWorkspaceFloats(seqLens.length, numHeads, numKvHeads, headDim, maxSeqLen)], 'float32');
      pagedAttentionDecode({ ...common, maxSeqLen, workspace: ws });
    }
    synchronizeDevice();
    const ref = pagedAttentionReference({
      query, keyCache, valueCache, blockTables, maxBlocksPerSeq, blockSize, seqLens: Int32Array.from(seqLens),
      queryStartLoc, scale, numHeads, numKvHeads, headDim,
    });
    expect(relativeError(common.out.toHost(), ref), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
  }
});
