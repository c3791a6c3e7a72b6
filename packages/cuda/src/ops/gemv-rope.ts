import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode } from '../dtype.js';
import { checkInt, checkTensor } from '../internal/check.js';
import type { NativeBinding } from '../native.js';
import { streamHandle } from '../stream.js';
import { GEMV_MAX_ROWS } from './gemm.js';
import type { OpOptions } from './layers.js';

/** Arguments of {@link gemvRotaryWithKvCache}. */
export interface GemvRotaryWithKvCacheArgs {
  /** `[m, (numHeads + 2 * numKvHeads) * headDim]`: the q, k and v rows, contiguous. */
  readonly out: DeviceTensor;
  /** Activations `[m, k]`, 1 to {@link GEMV_MAX_ROWS} rows, bf16/fp16; may be a column view. */
  readonly a: DeviceTensor;
  /** The fused q/k/v projection `[(numHeads + 2 * numKvHeads) * headDim, k]`, contiguous. */
  readonly weight: DeviceTensor;
  /** int32 `[m]`. */
  readonly positions: DeviceTensor;
  /** float32 `[maxPosition, headDim]` from `computeRopeCosSinCache` (rotation over the whole head). */
  readonly cosSinCache: DeviceTensor;
  /** `[numBlocks, blockSize, numKvHeads, headDim]`, the dtype of `a`. */
  readonly keyCache: DeviceTensor;
  /** Same shape and dtype as keyCache. */
  readonly valueCache: DeviceTensor;
  /** int32 `[m]`: block * blockSize + offset, or negative to skip the cache writes. */
  readonly slotMapping: DeviceTensor;
  readonly numHeads: number;
  readonly numKvHeads: number;
  /** A multiple of 8. */
  readonly headDim: number;
}

/** The native entry point (declared here, beside its only caller). */
interface GemvRopeKvBinding {
  gemvRopeKv(
    out: bigint, a: bigint, w: bigint, m: number, n: number, k: number, lda: number, ldw: number, ldc: number, dtype: number,
    stream: bigint, positions: bigint, cosSin: bigint, keyCache: bigint, valueCache: bigint, slotMapping: bigint,
    numHeads: number, numKvHeads: number, headDim: number,
  ): void;
}

/**
 * A decode step's q/k/v projection, neox RoPE over the whole head and the paged KV-cache write in one
 * launch of the skinny GEMM kernel: the same values as `gemv` into `out` followed by
 * `rotaryEmbeddingWithKvCache` on its q, k and v columns, without the second launch.
 * @param args tensors and head geometry
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes, more than 8 rows, a head dim that is not a
 *   multiple of 8, a partial rotary dim, or rows not 16-byte aligned
 * @example
 * ```ts
 * gemvRotaryWithKvCache({ out: qkv, a: normed, weight: qkvProj, positions, cosSinCache, keyCache, valueCache,
 *   slotMapping, numHeads: 32, numKvHeads: 8, headDim: 128 }, { stream });
 * ```
 */
export function gemvRotaryWithKvCache(args: GemvRotaryWithKvCacheArgs, options: OpOptions = {}): void {
  const s = 'gemvRotaryWithKvCache';
  const { out, a, weight, positions, cosSinCache, keyCache, valueCache, slotMapping } = args;
  const numHeads = checkInt(s, 'numHeads', args.numHeads, 1);
  const numKvHeads = checkInt(s, 'numKvHeads', args.numKvHeads, 1);
  const headDim = checkInt(s, 'headDim', args.headDim, 8);
  if (headDim % 8 !== 0) throw new InvalidArgumentError('invalid_argument', s, 'headDim', 'a multiple of 8', headDim);
  const n = (numHeads + 2 * numKvHeads) * headDim;
  checkTensor(s, 'weight', weight, { dtype: ['bfloat16', 'float16'], shape: [n, null] });
  const k = weight.shape[1]!;
  checkTensor(s, 'a', a, { dtype: weight.dtype, shape: [null, k], contiguous: false });
  const m = a.shape[0]!;
  if (m < 1 || m > GEMV_MAX_ROWS) throw new InvalidArgumentError('invalid_shape', s, 'a.shape[0]', `1 to ${GEMV_MAX_ROWS} rows`, m);
  if (k % 8 !== 0) throw new InvalidArgumentError('invalid_shape', s, 'weight.shape[1]', 'a multiple of 8', k);
  const misaligned = [a.address, weight.address].some((p) => p % 16n !== 0n) || a.rowStride % 8 !== 0;
  if (misaligned) throw new InvalidArgumentError('invalid_argument', s, 'a', 'rows starting 16-byte aligned', `address ${a.address}, row stride ${a.rowStride}`);
  checkTensor(s, 'out', out, { dtype: weight.dtype, shape: [m, n] });
  checkTensor(s, 'positions', positions, { dtype: 'int32', shape: [m] });
  checkTensor(s, 'slotMapping', slotMapping, { dtype: 'int32', shape: [m] });
  checkTensor(s, 'cosSinCache', cosSinCache, { dtype: 'float32', shape: [null, headDim] });
  checkTensor(s, 'keyCache', keyCache, { dtype: weight.dtype, shape: [null, null, numKvHeads, headDim] });
  checkTensor(s, 'valueCache', valueCache, { dtype: weight.dtype, shape: keyCache.shape });
  (getBinding() as NativeBinding & GemvRopeKvBinding).gemvRopeKv(
    out.address, a.address, weight.address, m, n, k, a.rowStride, k, out.rowStride, dtypeCode(weight.dtype),
    streamHandle(options.stream), positions.address, cosSinCache.address, keyCache.address, valueCache.address,
    slotMapping.address, numHeads, numKvHeads, headDim,
  );
}
