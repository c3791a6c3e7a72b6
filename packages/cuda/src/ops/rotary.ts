import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode } from '../dtype.js';
import { checkInt, checkSameDType, checkTensor } from '../internal/check.js';
import { streamHandle } from '../stream.js';
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
  const s = 'rotaryEmbedding';
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
  getBinding().ropeNeox(
    dtypeCode(query.dtype), positions.address, query.address, query.rowStride, key.address, key.rowStride,
    cosSinCache.address, n, numHeads, numKvHeads, headDim, rotaryDim, streamHandle(options.stream),
  );
}
