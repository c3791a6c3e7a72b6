// The references are the oracles of the GPU tests, so they get checks of their own.
import { describe, expect, it } from 'vitest';
import { Rng, relativeError } from '../testing/random.js';
import { pagedAttentionReference } from './attention.js';
import { applyPenaltiesReference, samplingDistributionReference } from './sampling.js';

describe('reference kernels', () => {
  it('paged attention does not depend on where the blocks are', () => {
    const rng = new Rng();
    const [numHeads, numKvHeads, headDim, blockSize] = [4, 2, 8, 4];
    const seqLens = Int32Array.of(9, 5);
    const queryStartLoc = Int32Array.of(0, 3, 8);
    const maxBlocksPerSeq = 3;
    const rowWidth = numKvHeads * headDim;
    const keys = [rng.tensor(9 * rowWidth, 'float32'), rng.tensor(5 * rowWidth, 'float32')];
    const values = [rng.tensor(9 * rowWidth, 'float32'), rng.tensor(5 * rowWidth, 'float32')];
    const query = rng.tensor(8 * numHeads * headDim, 'float32');
    const layout = (tables: number[]) => {
      const keyCache = new Float32Array(8 * blockSize * rowWidth);
      const valueCache = new Float32Array(8 * blockSize * rowWidth);
      [0, 1].forEach((s) => {
        for (let p = 0; p < seqLens[s]!; p++) {
          const slot = tables[s * maxBlocksPerSeq + Math.floor(p / blockSize)]! * blockSize + (p % blockSize);
          keyCache.set(keys[s]!.subarray(p * rowWidth, (p + 1) * rowWidth), slot * rowWidth);
          valueCache.set(values[s]!.subarray(p * rowWidth, (p + 1) * rowWidth), slot * rowWidth);
        }
      });
      return pagedAttentionReference({
        query, keyCache, valueCache, blockTables: Int32Array.from(tables), maxBlocksPerSeq, blockSize, seqLens,
        queryStartLoc, scale: 0.3, numHeads, numKvHeads, headDim,
      });
    };
    const a = layout([0, 1, 2, 3, 4, 0]);
    const b = layout([7, 2, 5, 1, 6, 0]);
    expect(relativeError(b, a)).toBe(0);
    // The last query of sequence 0 sees all 9 positions; with one position the output is that value row.
    const single = pagedAttentionReference({
      query, keyCache: new Float32Array(values[0]!.length).fill(0), valueCache: values[0]!, blockTables: Int32Array.of(0, 1, 2),
      maxBlocksPerSeq: 3, blockSize, seqLens: Int32Array.of(1), queryStartLoc: Int32Array.of(0, 1), scale: 1,
      numHeads, numKvHeads, headDim,
    });
    expect([...single.subarray(0, headDim)]).toEqual([...values[0]!.subarray(0, headDim)]);
  });

  it('sampling distribution: top-k 1 and tiny top-p are one-hot, min-p keeps the near-top tokens', () => {
    const row = Float32Array.of(1, 3, 2, 3.5, -1, 0);
    const oneHot = [0, 0, 0, 1, 0, 0];
    expect([...samplingDistributionReference(row, { temperature: 1, topK: 1, topP: 1, minP: 0 })]).toEqual(oneHot);
    expect([...samplingDistributionReference(row, { temperature: 1, topK: 0, topP: 0.01, minP: 0 })]).toEqual(oneHot);
    const minP = samplingDistributionReference(row, { temperature: 1, topK: 0, topP: 1, minP: 0.5 });
    expect([...minP].map((p) => p > 0)).toEqual([false, true, false, true, false, false]);
    const full = samplingDistributionReference(row, { temperature: 2, topK: 0, topP: 1, minP: 0 });
    expect(full.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(full[3]! / full[1]!).toBeCloseTo(Math.exp(0.25), 12);
  });

  it('penalties: repetition on prompt or output tokens, frequency and presence on output tokens', () => {
    const row = Float32Array.of(2, -2, 2, 2, 2);
    applyPenaltiesReference(row, { promptTokens: [0, 1, -1], outputTokens: [2, 2, 1], repetition: 2, frequency: 0.5, presence: 0.25 });
    expect([...row]).toEqual([1, -4 - 0.5 - 0.25, 1 - 1 - 0.25, 2, 2]);
  });
});
