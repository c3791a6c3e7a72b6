import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode, type FloatDType } from '../dtype.js';
import { checkNumber, checkTensor } from '../internal/check.js';
import type { NativeBinding } from '../native.js';
import { streamHandle } from '../stream.js';
import type { OpOptions } from './layers.js';

/** Arguments of {@link gemm}. */
export interface GemmArgs {
  /** Shape `[m, n]`: same dtype as the inputs, or float32 (e.g. logits). Contiguous or a column view. */
  readonly out: DeviceTensor;
  /** Activations [m, k]; may be a column view. */
  readonly a: DeviceTensor;
  /** Weight [n, k] in the PyTorch Linear layout, contiguous. */
  readonly weight: DeviceTensor;
  /** Default 1. */
  readonly alpha?: number;
  /** Default 0; 1 accumulates into `out` (e.g. a residual). */
  readonly beta?: number;
}

/**
 * `out = alpha * a . weight^T + beta * out` through cuBLASLt with float32 accumulation
 * (bf16/fp16/fp32 inputs). The algorithm is chosen once per shape, on its first call outside graph
 * capture with beta = 0, by timing cuBLASLt's heuristic candidates; for m <= 8 with 16-bit inputs the
 * skinny kernel of {@link gemv} competes too and is kept where it measured faster.
 * @param args tensors and scalars
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 * @throws {CudaError} when cuBLASLt cannot be loaded or rejects the problem
 */
export function gemm(args: GemmArgs, options: OpOptions = {}): void {
  const s = 'gemm';
  const { out, a, weight } = args;
  const { m, n, k, alpha, beta } = checkGemmArgs(s, args, ['bfloat16', 'float16', 'float32']);
  if (k === 0) throw new InvalidArgumentError('invalid_shape', s, 'weight.shape[1]', 'at least 1', k);
  getBinding().gemm(
    out.address, a.address, weight.address, m, n, k, a.rowStride, k, out.rowStride, dtypeCode(weight.dtype),
    dtypeCode(out.dtype), alpha, beta, streamHandle(options.stream),
  );
}

/** Shapes and scalars of a {@link gemm}-style call, validated: weight [n, k], a [m, k], out [m, n]. */
function checkGemmArgs(s: string, args: GemmArgs, weightDtypes: readonly FloatDType[]): { m: number; n: number; k: number; alpha: number; beta: number } {
  const { out, a, weight } = args;
  checkTensor(s, 'weight', weight, { dtype: weightDtypes, shape: [null, null] });
  const [n, k] = weight.shape as [number, number];
  checkTensor(s, 'a', a, { dtype: weight.dtype, shape: [null, k], contiguous: false });
  const m = a.shape[0]!;
  checkTensor(s, 'out', out, { dtype: [weight.dtype, 'float32'], shape: [m, n], contiguous: false });
  return { m, n, k, alpha: checkNumber(s, 'alpha', args.alpha ?? 1), beta: checkNumber(s, 'beta', args.beta ?? 0) };
}

/** Rows of `a` the skinny kernel of {@link gemv} takes at most. */
export const GEMV_MAX_ROWS = 8;

/** The native entry point of {@link gemv} (declared here, beside its only caller). */
interface GemvBinding {
  gemv(
    out: bigint, a: bigint, w: bigint, m: number, n: number, k: number, lda: number, ldw: number, ldc: number,
    inDtype: number, outDtype: number, alpha: number, beta: number, stream: bigint, siluAndMul: boolean,
  ): void;
}

/**
 * The skinny GEMM kernel of decode steps alone (no cuBLASLt): `out = alpha * a . weight^T + beta * out`
 * for 1 to {@link GEMV_MAX_ROWS} rows of bf16/fp16 activations, fp32 accumulate, one warp streaming each
 * weight row with 16-byte loads. {@link gemm} already picks it per shape where it is faster; call it
 * directly only to pin the choice.
 * @param args tensors and scalars, as {@link gemm}
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes, more than 8 rows, k not a multiple of 8,
 *   or rows not 16-byte aligned
 * @example
 * ```ts
 * gemv({ out: logits, a: hidden.rows(0, 1), weight: lmHead }, { stream });
 * ```
 */
export function gemv(args: GemmArgs, options: OpOptions = {}): void {
  const s = 'gemv';
  const { out, a, weight } = args;
  const { m, n, k, alpha, beta } = checkGemmArgs(s, args, ['bfloat16', 'float16']);
  checkGemvOperands(s, m, k, a, weight);
  (getBinding() as NativeBinding & GemvBinding).gemv(
    out.address, a.address, weight.address, m, n, k, a.rowStride, k, out.rowStride, dtypeCode(weight.dtype),
    dtypeCode(out.dtype), alpha, beta, streamHandle(options.stream), false,
  );
}

/** What the skinny kernel needs beyond a GEMM's shapes: 1 to 8 rows, k % 8 == 0, 16-byte-aligned rows. */
function checkGemvOperands(s: string, m: number, k: number, a: DeviceTensor, weight: DeviceTensor): void {
  if (m < 1 || m > GEMV_MAX_ROWS) throw new InvalidArgumentError('invalid_shape', s, 'a.shape[0]', `1 to ${GEMV_MAX_ROWS} rows`, m);
  if (k % 8 !== 0) throw new InvalidArgumentError('invalid_shape', s, 'weight.shape[1]', 'a multiple of 8', k);
  const misaligned = [a.address, weight.address].some((p) => p % 16n !== 0n) || a.rowStride % 8 !== 0;
  if (misaligned) throw new InvalidArgumentError('invalid_argument', s, 'a', 'rows starting 16-byte aligned', `address ${a.address}, row stride ${a.rowStride}`);
}

/** Arguments of {@link gemvSiluAndMul}. */
export interface GemvSiluAndMulArgs {
  /** `[m, n]`, the dtype of the inputs; contiguous or a column view. */
  readonly out: DeviceTensor;
  /** Activations `[m, k]` (1 to {@link GEMV_MAX_ROWS} rows); may be a column view. */
  readonly a: DeviceTensor;
  /** `[2n, k]`, contiguous: the gate projection's n rows, then the up projection's. */
  readonly weight: DeviceTensor;
}

/**
 * A decode step's gate/up projection and SiLU-and-multiply in one launch of the skinny kernel:
 * `out = silu(a . weight[0:n]^T) * (a . weight[n:2n]^T)`, bf16/fp16, fp32 accumulate. Each product is
 * rounded to the output dtype before the SiLU, so the result equals {@link gemv} into `[m, 2n]`
 * followed by `siluAndMul`, without the intermediate's write and read or the second launch.
 * @param args tensors
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes, an odd number of weight rows, more than 8
 *   rows of `a`, k not a multiple of 8, or rows not 16-byte aligned
 * @example
 * ```ts
 * gemvSiluAndMul({ out: act, a: normed, weight: gateUp }, { stream });
 * gemm({ out: hidden, a: act, weight: down }, { stream });
 * ```
 */
export function gemvSiluAndMul(args: GemvSiluAndMulArgs, options: OpOptions = {}): void {
  const s = 'gemvSiluAndMul';
  const { out, a, weight } = args;
  checkTensor(s, 'weight', weight, { dtype: ['bfloat16', 'float16'], shape: [null, null] });
  const [rows, k] = weight.shape as [number, number];
  if (rows % 2 !== 0) throw new InvalidArgumentError('invalid_shape', s, 'weight.shape[0]', 'an even number (gate rows, then up rows)', rows);
  const n = rows / 2;
  checkTensor(s, 'a', a, { dtype: weight.dtype, shape: [null, k], contiguous: false });
  const m = a.shape[0]!;
  checkTensor(s, 'out', out, { dtype: weight.dtype, shape: [m, n], contiguous: false });
  checkGemvOperands(s, m, k, a, weight);
  (getBinding() as NativeBinding & GemvBinding).gemv(
    out.address, a.address, weight.address, m, n, k, a.rowStride, k, out.rowStride, dtypeCode(weight.dtype),
    dtypeCode(out.dtype), 1, 0, streamHandle(options.stream), true,
  );
}
