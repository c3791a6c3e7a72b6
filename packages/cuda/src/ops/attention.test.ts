import { afterEach, describe, expect, it } from 'vitest';
import { synchronizeDevice } from '../device.js';
import { CudaGraph, CudaStream } from '../stream.js';
import type { FloatDType } from '../dtype.js';
import { pagedAttentionReference, rotaryReference, writeKvCacheReference } from '../reference/attention.js';
import { computeRopeCosSinCache } from '../rope-cache.js';
import type { RopeScaling } from '../rope-cache.js';
import { FLOAT_DTYPES, TensorScope, cudaAvailable, gpuSuite } from '../testing/gpu.js';
import { Rng, relativeError, tolerance } from '../testing/random.js';
import { decodePartitionSize, decodeWorkspaceFloats, pagedAttentionDecode, pagedAttentionPrefill, writeKvCache } from './attention.js';
import { rotaryEmbedding, rotaryEmbeddingWithKvCache } from './rotary.js';

const SCALINGS: readonly RopeScaling[] = [
  { type: 'default' },
  { type: 'linear', factor: 4 },
  { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 256 },
  { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 256 },
];

const DECODE_KERNELS = ['one-launch', 'two-pass'] as const;

/** Runs `fn` with the decode kernel forced through VLLM_TS_DECODE_ATTENTION (read at every launch). */
function withDecodeKernel<R>(kernel: (typeof DECODE_KERNELS)[number], fn: () => R): R {
  process.env.VLLM_TS_DECODE_ATTENTION = kernel;
  try {
    return fn();
  } finally {
    delete process.env.VLLM_TS_DECODE_ATTENTION;
  }
}

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
        const [n, numHeads, numKvHeads, maxPos] = [45, 6, 2, 1024];
        // yarn: head dim 40 with rotary dim 20 takes the scalar kernel (half of 10 is no 16-byte vector).
        const headDim = scaling.type === 'yarn' ? 40 : 64;
        const rotaryDim = scaling.type === 'linear' ? 32 : scaling.type === 'yarn' ? 20 : headDim; // partial-rotary cases
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

    // Full rotary (one launch), partial rotary (one launch, pass-through dims copied), rotary dim 20 (two launches).
    for (const [headDim, rotaryDim] of [[64, 64], [64, 32], [40, 20]] as const) {
      it(`rotaryEmbeddingWithKvCache equals rotaryEmbedding then writeKvCache (${dtype}, head dim ${headDim}, rotary ${rotaryDim})`, () => {
        const rng = new Rng();
        const [n, numHeads, numKvHeads, maxPos, blockSize, numBlocks] = [45, 6, 2, 1024, 16, 5];
        const width = (numHeads + 2 * numKvHeads) * headDim;
        const rowWidth = numKvHeads * headDim;
        const qkv = rng.tensor(n * width, dtype);
        const positions = Int32Array.from({ length: n }, () => rng.int(0, maxPos));
        const slots = rng.permutation(numBlocks * blockSize).subarray(0, n);
        slots[7] = -1;
        const kc = rng.tensor(numBlocks * blockSize * rowWidth, dtype);
        const vc = rng.tensor(numBlocks * blockSize * rowWidth, dtype);
        const cache = computeRopeCosSinCache({ rotaryDim, maxPosition: maxPos, base: 10000 });
        const qkvDev = scope.from(qkv, [n, width], dtype);
        const shape = [numBlocks, blockSize, numKvHeads, headDim];
        const kcDev = scope.from(kc, shape, dtype);
        const vcDev = scope.from(vc, shape, dtype);
        rotaryEmbeddingWithKvCache({
          positions: scope.from(positions, [n], 'int32'),
          query: qkvDev.columns(0, numHeads * headDim),
          key: qkvDev.columns(numHeads * headDim, rowWidth),
          value: qkvDev.columns(numHeads * headDim + rowWidth, rowWidth),
          cosSinCache: scope.from(cache, [maxPos, rotaryDim], 'float32'),
          keyCache: kcDev,
          valueCache: vcDev,
          slotMapping: scope.from(slots, [n], 'int32'),
          numHeads,
          numKvHeads,
          headDim,
        });
        synchronizeDevice();
        const q = new Float32Array(n * numHeads * headDim);
        const k = new Float32Array(n * rowWidth);
        const v = new Float32Array(n * rowWidth);
        for (let t = 0; t < n; t++) {
          const row = t * width;
          q.set(qkv.subarray(row, row + numHeads * headDim), t * numHeads * headDim);
          k.set(qkv.subarray(row + numHeads * headDim, row + numHeads * headDim + rowWidth), t * rowWidth);
          v.set(qkv.subarray(row + numHeads * headDim + rowWidth, row + width), t * rowWidth);
        }
        rotaryReference(positions, q, k, cache, rotaryDim, { numHeads, numKvHeads, headDim });
        writeKvCacheReference(k, v, kc, vc, slots, rowWidth);
        const ref = Float32Array.from(qkv);
        for (let t = 0; t < n; t++) {
          ref.set(q.subarray(t * numHeads * headDim, (t + 1) * numHeads * headDim), t * width);
          ref.set(k.subarray(t * rowWidth, (t + 1) * rowWidth), t * width + numHeads * headDim);
        }
        expect(relativeError(qkvDev.toHost(), ref), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
        expect(relativeError(kcDev.toHost(), kc), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
        expect(relativeError(vcDev.toHost(), vc), `seed ${rng.seed}`).toBe(0);
      });
    }

    // Offset 0: 16-byte rows (the vectorized kernel); offset 1: rows off 16-byte alignment (the scalar one).
    for (const offset of [0, 1]) it(`writeKvCache writes key/value views into their slots and skips negative slots (${dtype}, column offset ${offset})`, () => {
      const rng = new Rng();
      const [n, numKvHeads, headDim, blockSize, numBlocks] = [30, 2, 32, 16, 8];
      const rowWidth = numKvHeads * headDim;
      const width = 4 * rowWidth + offset;
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
        key: kvDev.columns(2 * rowWidth + offset, rowWidth),
        value: kvDev.columns(3 * rowWidth + offset, rowWidth),
        keyCache: kcDev,
        valueCache: vcDev,
        slotMapping: scope.from(slots, [n], 'int32'),
      });
      synchronizeDevice();
      const key = new Float32Array(n * rowWidth);
      const value = new Float32Array(n * rowWidth);
      for (let t = 0; t < n; t++) {
        key.set(kv.subarray(t * width + 2 * rowWidth + offset, t * width + 3 * rowWidth + offset), t * rowWidth);
        value.set(kv.subarray(t * width + 3 * rowWidth + offset, t * width + 4 * rowWidth + offset), t * rowWidth);
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

    // Every configuration of the FlashAttention-2 kernel (bf16/fp16, head dim 64/128), chosen through its
    // overrides: 4 or 8 warps (64- or 128-row query tiles), 64- or 128-key tiles (head dim 64 only).
    const fa2 = c.dtype !== 'float32' && (c.headDim === 64 || c.headDim === 128);
    const configs = fa2 ? [['4', '64'], ['8', '64'], ...(c.headDim === 64 ? [['4', '128'], ['8', '128']] : [])] : [['default', 'default']];
    for (const [warps, tileK] of configs as [string, string][]) {
      it(`pagedAttentionPrefill: long chunks over several query and key tiles (${label}, warps ${warps}, key tile ${tileK})`, () => {
        const rng = new Rng();
        // Query tiles on and off the causal diagonal, chunk lengths not multiples of any tile.
        const qLens = [rng.int(130, 260), 64, rng.int(65, 200)];
        const seqLens = [qLens[0]!, 64 + rng.int(1, 130), qLens[2]! + rng.int(200, 400)];
        if (fa2) Object.assign(process.env, { VLLM_TS_FA2_WARPS: warps, VLLM_TS_FA2_TILE_K: tileK });
        try {
          runAttention(rng, c, qLens, seqLens, 'prefill');
        } finally {
          delete process.env.VLLM_TS_FA2_WARPS;
          delete process.env.VLLM_TS_FA2_TILE_K;
        }
      });
    }

    for (const kernel of DECODE_KERNELS) {
      it(`pagedAttentionDecode: split-K over contexts up to 24 partitions (${label}, ${kernel})`, () => {
        const rng = new Rng();
        const seqLens = [1, rng.int(2, 512), 512, rng.int(513, 1536)];
        withDecodeKernel(kernel, () => runAttention(rng, c, seqLens.map(() => 1), seqLens, 'decode'));
      });
    }
  }

  // Group sizes around the kernel's per-pass head counts (1, 2, 4, 8, then passes of 8).
  for (const [dtype, headDim] of [['bfloat16', 128], ['float32', 64]] as const) {
    for (const group of [1, 3, 5, 8, 9]) {
      it(`pagedAttentionDecode: ${group} query heads per kv head (${dtype}, head dim ${headDim}, one-launch)`, () => {
        const rng = new Rng();
        const c = { dtype, headDim, numHeads: 2 * group, numKvHeads: 2, blockSize: 16 };
        withDecodeKernel('one-launch', () => runAttention(rng, c, [1, 1, 1, 1], [1, 64, 65, rng.int(700, 1100)], 'decode'));
      });
    }
  }

  it('pagedAttentionDecode: the default choice (one launch up to 8 sequence x kv-head pairs, two launches beyond) matches the reference', () => {
    const rng = new Rng();
    const c = { dtype: 'bfloat16', headDim: 128, numHeads: 4, numKvHeads: 1, blockSize: 16 } as const;
    for (const n of [8, 9]) {
      const seqLens = Array.from({ length: n }, () => rng.int(1, 700));
      runAttention(rng, c, seqLens.map(() => 1), seqLens, 'decode');
    }
  });

  it('pagedAttentionDecode (one-launch): a captured graph replays with other lengths under its bound, reusing the workspace', () => {
    const rng = new Rng();
    const c = { dtype: 'bfloat16', headDim: 128, numHeads: 8, numKvHeads: 2, blockSize: 16 } as const;
    const maxSeqLen = 1500;
    const d = decodeInputs(rng, c, [maxSeqLen, maxSeqLen, maxSeqLen]);
    const stream = CudaStream.create();
    try {
      const run = () => pagedAttentionDecode({ ...d.args, maxSeqLen }, { stream });
      withDecodeKernel('one-launch', run); // outside capture first, as an engine warms up
      stream.synchronize();
      const graph = withDecodeKernel('one-launch', () => CudaGraph.capture(stream, run));
      try {
        for (const lens of [[1, 700, 1500], [1500, 64, 1], [65, 1, 1024], [129, 1200, 3]]) {
          d.args.seqLens.copyFromHost(Int32Array.from(lens));
          d.args.out.poison();
          synchronizeDevice(); // the poison runs on the legacy stream
          graph.replay(stream);
          stream.synchronize();
          expect(relativeError(d.args.out.toHost(), d.reference(lens)), `seed ${rng.seed}, lengths ${lens}`).toBeLessThan(tolerance(c.dtype));
        }
      } finally {
        graph.destroy();
      }
    } finally {
      stream.destroy();
    }
  });

  it('pagedAttentionDecode (one-launch): one workspace serves batches of other sizes in turn, from any 4-byte offset', () => {
    const rng = new Rng();
    const c = { dtype: 'float16', headDim: 64, numHeads: 8, numKvHeads: 4, blockSize: 16 } as const;
    const big = decodeInputs(rng, c, [900, 40, 1300, 777, 2]);
    const small = decodeInputs(rng, c, [1300]);
    const need = decodeWorkspaceFloats(5, c.numHeads, c.numKvHeads, c.headDim, 1300);
    const ws = scope.poisoned([need + 1], 'float32').rows(1, need);
    for (const [d, lens] of [[big, [900, 40, 1300, 777, 2]], [small, [1300]], [big, [900, 40, 1300, 777, 2]], [small, [1300]]] as const) {
      d.args.out.poison();
      withDecodeKernel('one-launch', () => pagedAttentionDecode({ ...d.args, maxSeqLen: 1300, workspace: ws }));
      synchronizeDevice();
      expect(relativeError(d.args.out.toHost(), d.reference([...lens])), `seed ${rng.seed}`).toBeLessThan(tolerance(c.dtype));
    }
  });

  it('pagedAttentionDecode (one-launch): the result does not depend on the partition size beyond rounding', () => {
    const rng = new Rng();
    const c = { dtype: 'float32', headDim: 64, numHeads: 8, numKvHeads: 8, blockSize: 16 } as const;
    const lens = [1, 333, 1000];
    const d = decodeInputs(rng, c, lens, 4096);
    const outs: Float32Array[] = [];
    // 64- and 256-token partitions: the rule picks them from the bound and the batch.
    const bounds = [1000, 4096];
    expect(bounds.map((b) => decodePartitionSize(lens.length, c.numKvHeads, b))).toEqual([64, 256]);
    for (const maxSeqLen of bounds) {
      d.args.out.poison();
      withDecodeKernel('one-launch', () => pagedAttentionDecode({ ...d.args, maxSeqLen }));
      synchronizeDevice();
      outs.push(d.args.out.toHost() as Float32Array);
    }
    for (const o of outs.slice(1)) expect(relativeError(o, outs[0]!), `seed ${rng.seed}`).toBeLessThan(1e-5);
    expect(relativeError(outs[0]!, d.reference(lens)), `seed ${rng.seed}`).toBeLessThan(tolerance(c.dtype));
  });

  /** Decode inputs for `seqLens` (block tables sized for `capacity` tokens) and a reference for any lengths up to them. */
  function decodeInputs(rng: Rng, c: { dtype: FloatDType; headDim: number; numHeads: number; numKvHeads: number; blockSize: number }, seqLens: number[], capacity = Math.max(...seqLens)) {
    const { dtype, headDim, numHeads, numKvHeads, blockSize } = c;
    const { maxBlocksPerSeq, numBlocks, blockTables } = pagedLayout(rng, seqLens.map(() => capacity), blockSize);
    const cacheShape = [numBlocks, blockSize, numKvHeads, headDim];
    const cacheLen = numBlocks * blockSize * numKvHeads * headDim;
    const keyCache = rng.tensor(cacheLen, dtype);
    const valueCache = rng.tensor(cacheLen, dtype);
    const n = seqLens.length;
    const query = rng.tensor(n * numHeads * headDim, dtype);
    const maxSeqLen = Math.max(...seqLens);
    const args = {
      out: scope.poisoned([n, numHeads * headDim], dtype),
      query: scope.from(query, [n, numHeads * headDim], dtype),
      keyCache: scope.from(keyCache, cacheShape, dtype),
      valueCache: scope.from(valueCache, cacheShape, dtype),
      blockTables: scope.from(blockTables, [n, maxBlocksPerSeq], 'int32'),
      seqLens: scope.from(Int32Array.from(seqLens), [n], 'int32'),
      numHeads,
      scale: 1 / Math.sqrt(headDim),
      workspace: scope.poisoned([decodeWorkspaceFloats(n, numHeads, numKvHeads, headDim, maxBlocksPerSeq * blockSize)], 'float32'),
      maxSeqLen,
    };
    const queryStartLoc = Int32Array.from({ length: n + 1 }, (_, i) => i);
    const reference = (lens: number[]) =>
      pagedAttentionReference({
        query, keyCache, valueCache, blockTables, maxBlocksPerSeq, blockSize, seqLens: Int32Array.from(lens),
        queryStartLoc, scale: args.scale, numHeads, numKvHeads, headDim,
      });
    return { args, reference, maxBlocksPerSeq };
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
