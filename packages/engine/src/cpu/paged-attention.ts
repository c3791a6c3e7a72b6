import type { PagedKVCache } from './paged-kv-cache.js';

/** Where each token of a flattened batch reads its context from. */
export interface AttentionMetadata {
  readonly numTokens: number;
  /** Position of each token in its sequence; it attends to positions `0..position`. */
  readonly positions: Int32Array;
  /** Cache slot each token's key and value are written to. */
  readonly slotMapping: Int32Array;
  /** Index of each token's sequence (row of `blockTables`). */
  readonly tokenSeq: Int32Array;
  /** Block tables, `[numSeqs, maxBlocksPerSeq]`. */
  readonly blockTables: Int32Array;
  readonly maxBlocksPerSeq: number;
}

/**
 * Writes the keys and values of every token to its slot (`slotMapping`), for one layer.
 * @param cache the paged cache
 * @param layer layer index
 * @param qkv per token `[q(numHeads*headDim), k(numKvHeads*headDim), v(numKvHeads*headDim)]`
 * @param qkvStride floats per token in `qkv`
 * @param qDim `numHeads * headDim` (offset of k)
 * @param meta token slots
 */
export function writeKV(cache: PagedKVCache, layer: number, qkv: Float32Array, qkvStride: number, qDim: number, meta: AttentionMetadata): void {
  const kvDim = cache.numKvHeads * cache.headDim;
  const key = cache.key[layer]!;
  const value = cache.value[layer]!;
  for (let t = 0; t < meta.numTokens; t++) {
    const dst = meta.slotMapping[t]! * kvDim;
    const src = t * qkvStride + qDim;
    key.set(qkv.subarray(src, src + kvDim), dst);
    value.set(qkv.subarray(src + kvDim, src + 2 * kvDim), dst);
  }
}

/**
 * Causal attention of each token over its sequence's cached keys and values (positions
 * `0..position`, read through its block table), grouped-query: query head `h` reads kv head
 * `floor(h / (numHeads / numKvHeads))`. Call after {@link writeKV} for the same layer.
 *
 * @param out `[numTokens, numHeads * headDim]`
 * @param qkv queries at `t * qkvStride` (rotated)
 * @param qkvStride floats per token in `qkv`
 * @param numHeads query heads
 * @param cache the paged cache
 * @param layer layer index
 * @param meta positions and block tables
 * @param scratch at least `(numHeads / numKvHeads) * (maxPosition + 1)` doubles for scores, plus `numHeads * headDim`
 * @param from first token to compute (default 0)
 * @param to one past the last token to compute (default all)
 */
export function pagedAttention(
  out: Float32Array,
  qkv: Float32Array,
  qkvStride: number,
  numHeads: number,
  cache: PagedKVCache,
  layer: number,
  meta: AttentionMetadata,
  scratch: Float64Array,
  from = 0,
  to = meta.numTokens,
): void {
  const { headDim, numKvHeads, blockSize } = cache;
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headDim;
  const key = cache.key[layer]!;
  const value = cache.value[layer]!;
  const scale = 1 / Math.sqrt(headDim);
  const qDim = numHeads * headDim;
  for (let t = from; t < to; t++) {
    const ctx = meta.positions[t]! + 1;
    const tableBase = meta.tokenSeq[t]! * meta.maxBlocksPerSeq;
    const acc = scratch.subarray(group * ctx, group * ctx + group * headDim);
    for (let kvh = 0; kvh < numKvHeads; kvh++) {
      const q0 = t * qkvStride + kvh * group * headDim;
      // Scores of the `group` query heads sharing this kv head: scratch[g * ctx + j], walked block by block.
      for (let j = 0, b = 0; j < ctx; b++) {
        const slotBase = meta.blockTables[tableBase + b]! * blockSize;
        for (const end = Math.min(j + blockSize, ctx); j < end; j++) {
          const k0 = (slotBase + (j % blockSize)) * kvDim + kvh * headDim;
          for (let g = 0; g < group; g++) {
            const qb = q0 + g * headDim;
            let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            let d = 0;
            for (; d + 4 <= headDim; d += 4) {
              s0 += qkv[qb + d]! * key[k0 + d]!;
              s1 += qkv[qb + d + 1]! * key[k0 + d + 1]!;
              s2 += qkv[qb + d + 2]! * key[k0 + d + 2]!;
              s3 += qkv[qb + d + 3]! * key[k0 + d + 3]!;
            }
            for (; d < headDim; d++) s0 += qkv[qb + d]! * key[k0 + d]!;
            scratch[g * ctx + j] = (s0 + s1 + s2 + s3) * scale;
          }
        }
      }
      for (let g = 0; g < group; g++) {
        const base = g * ctx;
        let max = -Infinity;
        for (let j = 0; j < ctx; j++) if (scratch[base + j]! > max) max = scratch[base + j]!;
        let sum = 0;
        for (let j = 0; j < ctx; j++) {
          const e = Math.exp(scratch[base + j]! - max);
          scratch[base + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < ctx; j++) scratch[base + j] = scratch[base + j]! * inv;
      }
      acc.fill(0);
      for (let j = 0, b = 0; j < ctx; b++) {
        const slotBase = meta.blockTables[tableBase + b]! * blockSize;
        for (const end = Math.min(j + blockSize, ctx); j < end; j++) {
          const v0 = (slotBase + (j % blockSize)) * kvDim + kvh * headDim;
          for (let g = 0; g < group; g++) {
            const p = scratch[g * ctx + j]!;
            const a0 = g * headDim;
            for (let d = 0; d < headDim; d++) acc[a0 + d] = acc[a0 + d]! + p * value[v0 + d]!;
          }
        }
      }
      const o0 = t * qDim + kvh * group * headDim;
      for (let i = 0; i < group * headDim; i++) out[o0 + i] = acc[i]!;
    }
  }
}
