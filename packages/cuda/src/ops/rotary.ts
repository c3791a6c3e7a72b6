import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode } from '../dtype.js';
import { checkInt, checkSameDType, checkTensor } from '../internal/check.js';
import { streamHandle } from '../stream.js';
import type { NativeBinding } from '../native.js';
import type { OpOptions } from './layers.js';

/** Arguments of {@link rotaryEmbedding}. */
export interface RotaryEmbeddingArgs {
  /** int32 [numTokens]; each below the cache's row count (not checked on the device). */
  readonly positions: DeviceTensor;
  /** Shape `[numTokens, numHeads * headDim]`; may be a column view of a fused qkv tensor. Rotated in place. */
  readonly query: DeviceTensor;
  /** Shape `[numTokens, numKvHeads * headDim]`; may be a column view. Rotated in place. */
  readonly key: DeviceTensor;
  /** float32 [maxPosition, rotaryDim] from {@link computeRopeCosSinCache}. */
  readonly cosSinCache: DeviceTensor;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
}

/**
 * Neox-layout rotary embedding (pairs (i, i + rotaryDim/2)) applied in place to q and k; the
 * first rotaryDim dims of each head rotate, the rest pass through.
 * @param args tensors and head geometry
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function rotaryEmbedding(args: RotaryEmbeddingArgs, options: OpOptions = {}): void {
  const { n, rotaryDim } = checkRotary('rotaryEmbedding', args);
  const { positions, query, key, cosSinCache, numHeads, numKvHeads, headDim } = args;
  getBinding().ropeNeox(
    dtypeCode(query.dtype), positions.address, query.address, query.rowStride, key.address, key.rowStride,
    cosSinCache.address, n, numHeads, numKvHeads, headDim, rotaryDim, streamHandle(options.stream),
  );
}

/** Arguments of {@link rotaryEmbeddingWithKvCache}. */
export interface RotaryEmbeddingWithKvCacheArgs extends RotaryEmbeddingArgs {
  /** Shape `[numTokens, numKvHeads * headDim]`; may be a column view of a fused qkv tensor. */
  readonly value: DeviceTensor;
  /** Shape `[numBlocks, blockSize, numKvHeads, headDim]`, the dtype of query. */
  readonly keyCache: DeviceTensor;
  /** Same shape and dtype as keyCache. */
  readonly valueCache: DeviceTensor;
  /** int32 [numTokens]: block * blockSize + offset, or negative to skip the cache writes (padding). */
  readonly slotMapping: DeviceTensor;
}

/** The native entry point of the fused op (declared here, beside its only caller). */
interface RopeWriteKvBinding {
  ropeNeoxWriteKv(
    dtype: number, positions: bigint, q: bigint, qStride: number, k: bigint, kStride: number, v: bigint, vStride: number,
    cosSin: bigint, keyCache: bigint, valueCache: bigint, slotMapping: bigint, numTokens: number, numHeads: number,
    numKvHeads: number, headDim: number, rotaryDim: number, stream: bigint,
  ): void;
}

/**
 * {@link rotaryEmbedding} fused with `writeKvCache` of the rotated keys: one launch rotates q and k
 * in place and writes k and v into their paged-cache slots (the same results as the two ops in turn,
 * which it falls back to when rows are not 16-byte aligned). A negative slot skips only the cache writes.
 * @param args tensors and head geometry
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 * @example
 * ```ts
 * rotaryEmbeddingWithKvCache({ positions, query: qkv.columns(0, 4096), key: qkv.columns(4096, 1024),
 *   value: qkv.columns(5120, 1024), cosSinCache, numHeads: 32, numKvHeads: 8, headDim: 128,
 *   keyCache, valueCache, slotMapping }, { stream });
 * ```
 */
export function rotaryEmbeddingWithKvCache(args: RotaryEmbeddingWithKvCacheArgs, options: OpOptions = {}): void {
  const s = 'rotaryEmbeddingWithKvCache';
  const { n, rotaryDim } = checkRotary(s, args);
  const { positions, query, key, value, cosSinCache, keyCache, valueCache, slotMapping, numHeads, numKvHeads, headDim } = args;
  checkTensor(s, 'keyCache', keyCache, { dtype: query.dtype, shape: [null, null, numKvHeads, headDim] });
  checkTensor(s, 'valueCache', valueCache, { dtype: query.dtype, shape: keyCache.shape });
  checkTensor(s, 'value', value, { dtype: query.dtype, shape: [n, numKvHeads * headDim], contiguous: false });
  checkTensor(s, 'slotMapping', slotMapping, { dtype: 'int32', shape: [n] });
  (getBinding() as NativeBinding & RopeWriteKvBinding).ropeNeoxWriteKv(
    dtypeCode(query.dtype), positions.address, query.address, query.rowStride, key.address, key.rowStride, value.address,
    value.rowStride, cosSinCache.address, keyCache.address, valueCache.address, slotMapping.address, n, numHeads,
    numKvHeads, headDim, rotaryDim, streamHandle(options.stream),
  );
}

function checkRotary(s: string, args: RotaryEmbeddingArgs): { n: number; rotaryDim: number } {
  const { positions, query, key, cosSinCache } = args;
  const numHeads = checkInt(s, 'numHeads', args.numHeads, 1);
  const numKvHeads = checkInt(s, 'numKvHeads', args.numKvHeads, 1);
  const headDim = checkInt(s, 'headDim', args.headDim, 2);
  checkTensor(s, 'positions', positions, { dtype: 'int32', shape: [null] });
  const n = positions.shape[0]!;
  checkTensor(s, 'query', query, { dtype: ['float32', 'float16', 'bfloat16'], shape: [n, numHeads * headDim], contiguous: false });
  checkTensor(s, 'key', key, { dtype: query.dtype, shape: [n, numKvHeads * headDim], contiguous: false });
  checkSameDType(s, 'key', query, key);
  checkTensor(s, 'cosSinCache', cosSinCache, { dtype: 'float32', shape: [null, null] });
  const rotaryDim = cosSinCache.shape[1]!;
  if (rotaryDim % 2 !== 0 || rotaryDim > headDim || rotaryDim < 2) {
    throw new InvalidArgumentError('invalid_shape', s, 'cosSinCache.shape[1]', `an even rotary dim in [2, ${headDim}]`, rotaryDim);
  }
  return { n, rotaryDim };
}
