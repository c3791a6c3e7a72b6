import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode } from '../dtype.js';
import { checkNumber, checkTensor } from '../internal/check.js';
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
 * (bf16/fp16/fp32 inputs). The algorithm is chosen once per shape by cuBLASLt's heuristic.
 * @param args tensors and scalars
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 * @throws {CudaError} when cuBLASLt cannot be loaded or rejects the problem
 */
export function gemm(args: GemmArgs, options: OpOptions = {}): void {
  const s = 'gemm';
  const { out, a, weight } = args;
  checkTensor(s, 'weight', weight, { dtype: ['bfloat16', 'float16', 'float32'], shape: [null, null] });
  const [n, k] = weight.shape as [number, number];
  checkTensor(s, 'a', a, { dtype: weight.dtype, shape: [null, k], contiguous: false });
  const m = a.shape[0]!;
  checkTensor(s, 'out', out, { dtype: [weight.dtype, 'float32'], shape: [m, n], contiguous: false });
  const alpha = checkNumber(s, 'alpha', args.alpha ?? 1);
  const beta = checkNumber(s, 'beta', args.beta ?? 0);
  if (k === 0) throw new InvalidArgumentError('invalid_shape', s, 'weight.shape[1]', 'at least 1', k);
  getBinding().gemm(
    out.address, a.address, weight.address, m, n, k, a.rowStride, k, out.rowStride, dtypeCode(weight.dtype),
    dtypeCode(out.dtype), alpha, beta, streamHandle(options.stream),
  );
}
