import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { checkTensor } from '../internal/check.js';
import { streamHandle } from '../stream.js';
import type { OpOptions } from './layers.js';

/** The binding entry of native/bindings/tokens.cc: (dst, src, idx, n, stream). */
interface TokenGatherBinding {
  tokenGather(dst: bigint, src: bigint, idx: bigint, n: number, stream: bigint): void;
}

/** Arguments of {@link tokenGather}. */
export interface TokenGatherArgs {
  /** int32 `[d]`: receives `src[srcIdx[i]]` at `dstIdx[i]`; other elements are left alone. */
  readonly dst: DeviceTensor;
  /** int32 `[s]`: e.g. the previous step's sampled ids. */
  readonly src: DeviceTensor;
  /** Destinations, each in `[0, d)`, no two equal. */
  readonly dstIdx: Int32Array;
  /** Sources, each in `[0, s)`, as many as `dstIdx`. */
  readonly srcIdx: Int32Array;
  /**
   * Pinned host memory of at least `2 * n` int32 (`allocPinned`): the indices are staged here and
   * copied asynchronously, so it must not be reused before this gather has run on the device.
   */
  readonly staging: Int32Array;
  /** int32 `[>= 2n]` device scratch for the indices; the same reuse rule as `staging`. */
  readonly indices: DeviceTensor;
}

/**
 * `dst[dstIdx[i]] = src[srcIdx[i]]` on the device (int32), enqueued on `options.stream` after
 * one asynchronous copy of the indices. Async scheduling uses it to feed decode rows of step N+1
 * the tokens step N samples, without waiting for N to be copied back.
 * @param args tensors, host indices and their staging
 * @param options stream
 * @throws {InvalidArgumentError} for wrong dtypes, an index out of range, repeated destinations or
 *   staging/scratch too small
 */
export function tokenGather(args: TokenGatherArgs, options: OpOptions = {}): void {
  const s = 'tokenGather';
  checkTensor(s, 'dst', args.dst, { dtype: 'int32', shape: [null] });
  checkTensor(s, 'src', args.src, { dtype: 'int32', shape: [null] });
  checkTensor(s, 'indices', args.indices, { dtype: 'int32', shape: [null] });
  const { dstIdx, srcIdx, staging } = args;
  const n = dstIdx.length;
  if (srcIdx.length !== n) throw new InvalidArgumentError('invalid_shape', s, 'srcIdx.length', `dstIdx.length (${n})`, srcIdx.length);
  if (staging.length < 2 * n) throw new InvalidArgumentError('invalid_shape', s, 'staging.length', `at least ${2 * n}`, staging.length);
  if (args.indices.numel < 2 * n) throw new InvalidArgumentError('invalid_shape', s, 'indices.numel', `at least ${2 * n}`, args.indices.numel);
  const d = args.dst.numel;
  const src = args.src.numel;
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const to = dstIdx[i]!;
    const from = srcIdx[i]!;
    if (!(to >= 0 && to < d) || seen.has(to)) throw new InvalidArgumentError('invalid_argument', s, `dstIdx[${i}]`, `a distinct index in [0, ${d})`, to);
    if (!(from >= 0 && from < src)) throw new InvalidArgumentError('invalid_argument', s, `srcIdx[${i}]`, `an index in [0, ${src})`, from);
    seen.add(to);
  }
  if (n === 0) return;
  staging.set(dstIdx, 0);
  staging.set(srcIdx, n);
  const b = getBinding();
  const stream = streamHandle(options.stream);
  b.copyHostToDevice(args.indices.address, staging, 2 * n * 4, stream, false);
  (b as unknown as TokenGatherBinding).tokenGather(args.dst.address, args.src.address, args.indices.address, n, stream);
}

/**
 * Host reference of {@link tokenGather}: a copy of `dst` with the gathered elements written.
 * @param dst destination values
 * @param src source values
 * @param dstIdx destinations
 * @param srcIdx sources
 * @returns the gathered copy
 */
export function tokenGatherReference(dst: Int32Array, src: Int32Array, dstIdx: Int32Array, srcIdx: Int32Array): Int32Array {
  const out = Int32Array.from(dst);
  for (let i = 0; i < dstIdx.length; i++) out[dstIdx[i]!] = src[srcIdx[i]!]!;
  return out;
}

/**
 * Enqueues a copy of a contiguous 4-byte tensor (int32/float32) into host memory on `stream`,
 * without waiting. `dst` should be pinned (`allocPinned`) for the copy to be truly asynchronous;
 * read it only after the stream (or an event recorded after this) has finished.
 * @param dst host array of `src.numel` elements of the same dtype
 * @param src the device tensor
 * @param options stream
 * @throws {InvalidArgumentError} for a dtype or length mismatch
 */
export function copyToHostAsync(dst: Int32Array | Float32Array, src: DeviceTensor, options: OpOptions = {}): void {
  const s = 'copyToHostAsync';
  checkTensor(s, 'src', src, { dtype: dst instanceof Int32Array ? 'int32' : 'float32' });
  if (dst.length !== src.numel) throw new InvalidArgumentError('invalid_shape', s, 'dst.length', String(src.numel), dst.length);
  if (dst.length > 0) getBinding().copyDeviceToHost(dst, src.address, dst.byteLength, streamHandle(options.stream), false);
}

/**
 * Enqueues a copy of host data into a contiguous 4-byte tensor (int32/float32) on `stream`,
 * without waiting: ordered with the stream's other work, unlike `DeviceTensor.copyFromHost`.
 * `src` must be pinned (`allocPinned`) and left unchanged until the copy has run.
 * @param dst the device tensor
 * @param src host array of `dst.numel` elements of the same dtype
 * @param options stream
 * @throws {InvalidArgumentError} for a dtype or length mismatch
 */
export function copyFromHostAsync(dst: DeviceTensor, src: Int32Array | Float32Array, options: OpOptions = {}): void {
  const s = 'copyFromHostAsync';
  checkTensor(s, 'dst', dst, { dtype: src instanceof Int32Array ? 'int32' : 'float32' });
  if (src.length !== dst.numel) throw new InvalidArgumentError('invalid_shape', s, 'src.length', String(dst.numel), src.length);
  if (src.length > 0) getBinding().copyHostToDevice(dst.address, src, src.byteLength, streamHandle(options.stream), false);
}
