import { dtypeCode } from '../dtype.js';
import type { DeviceTensor } from '../device-tensor.js';
import { getBinding } from '../binding.js';
import { checkInt, checkNumber, checkSameDType, checkTensor } from '../internal/check.js';
import { streamHandle } from '../stream.js';
import type { CudaStream } from '../stream.js';

/** Options shared by every op. */
export interface OpOptions {
  /** Stream to enqueue on (default: the legacy default stream). */
  stream?: CudaStream;
}

const FLOATS = ['float32', 'float16', 'bfloat16'] as const;

/**
 * Gathers embedding rows: `out[t] = table[ids[t]]` (a zero row for an id outside the table).
 * @param out destination [numTokens, hidden]
 * @param ids int32 token ids [numTokens]
 * @param table embedding table [vocabSize, hidden], same dtype as `out`
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function embedding(out: DeviceTensor, ids: DeviceTensor, table: DeviceTensor, options: OpOptions = {}): void {
  const s = 'embedding';
  checkTensor(s, 'table', table, { dtype: FLOATS, shape: [null, null] });
  const [vocab, hidden] = table.shape as [number, number];
  checkTensor(s, 'ids', ids, { dtype: 'int32', shape: [null] });
  checkTensor(s, 'out', out, { dtype: table.dtype, shape: [ids.shape[0]!, hidden] });
  getBinding().embedding(dtypeCode(table.dtype), out.address, ids.address, table.address, ids.shape[0]!, vocab, hidden, streamHandle(options.stream));
}

/**
 * RMSNorm: `out = x / sqrt(mean(x^2) + eps) * weight` per row, in float32, the normalized value
 * rounded to the dtype before the weight multiply (as Hugging Face Llama does).
 * @param out destination [numTokens, hidden]
 * @param input [numTokens, hidden]
 * @param weight [hidden]
 * @param eps variance epsilon, > 0
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function rmsNorm(out: DeviceTensor, input: DeviceTensor, weight: DeviceTensor, eps: number, options: OpOptions = {}): void {
  const s = 'rmsNorm';
  checkTensor(s, 'input', input, { dtype: FLOATS, shape: [null, null] });
  const [n, hidden] = input.shape as [number, number];
  checkTensor(s, 'weight', weight, { dtype: input.dtype, shape: [hidden] });
  checkTensor(s, 'out', out, { dtype: input.dtype, shape: [n, hidden] });
  checkNumber(s, 'eps', eps, Number.MIN_VALUE);
  getBinding().rmsNorm(dtypeCode(input.dtype), out.address, input.address, weight.address, eps, n, hidden, streamHandle(options.stream));
}

/**
 * Fused residual add and RMSNorm, both in place: `residual += input` (rounded to the dtype), then
 * `input = rmsNorm(residual) * weight`. One pass over each row instead of three.
 * @param input [numTokens, hidden]; receives the normalized rows
 * @param residual [numTokens, hidden]; receives the sum
 * @param weight [hidden]
 * @param eps variance epsilon, > 0
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function fusedAddRmsNorm(input: DeviceTensor, residual: DeviceTensor, weight: DeviceTensor, eps: number, options: OpOptions = {}): void {
  const s = 'fusedAddRmsNorm';
  checkTensor(s, 'input', input, { dtype: FLOATS, shape: [null, null] });
  const [n, hidden] = input.shape as [number, number];
  checkTensor(s, 'residual', residual, { dtype: input.dtype, shape: [n, hidden] });
  checkTensor(s, 'weight', weight, { dtype: input.dtype, shape: [hidden] });
  checkNumber(s, 'eps', eps, Number.MIN_VALUE);
  getBinding().fusedAddRmsNorm(dtypeCode(input.dtype), input.address, residual.address, weight.address, eps, n, hidden, streamHandle(options.stream));
}

/**
 * SiLU-and-multiply of a fused gate/up projection: `out = silu(x[:, :d]) * x[:, d:]`, float32 math.
 * @param out destination [numTokens, d]
 * @param input [numTokens, 2 * d]
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function siluAndMul(out: DeviceTensor, input: DeviceTensor, options: OpOptions = {}): void {
  const s = 'siluAndMul';
  checkTensor(s, 'input', input, { dtype: FLOATS, shape: [null, null] });
  const [n, twoD] = input.shape as [number, number];
  checkInt(s, 'input.shape[1] / 2', twoD / 2, 1);
  checkTensor(s, 'out', out, { dtype: input.dtype, shape: [n, twoD / 2] });
  checkSameDType(s, 'out', input, out);
  getBinding().siluAndMul(dtypeCode(input.dtype), out.address, input.address, n, twoD / 2, streamHandle(options.stream));
}
