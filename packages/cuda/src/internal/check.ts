// Argument validation shared by the op wrappers: every check throws InvalidArgumentError naming
// the op, the argument, what was expected and what came in.
import { InvalidArgumentError } from '@vllm-ts/core';
import { DeviceTensor } from '../device-tensor.js';
import type { DType } from '../dtype.js';

/** What an argument tensor must be. `null` in `shape` accepts any extent there. */
export interface TensorSpec {
  dtype?: DType | readonly DType[];
  shape?: readonly (number | null)[];
  /** Default true: only contiguous tensors. */
  contiguous?: boolean;
}

function describe(t: DeviceTensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]${t.isContiguous ? '' : ` rowStride ${t.rowStride}`}`;
}

/** Throws unless `t` is a live DeviceTensor matching `spec`. */
export function checkTensor(scope: string, name: string, t: unknown, spec: TensorSpec = {}): asserts t is DeviceTensor {
  if (!(t instanceof DeviceTensor)) {
    throw new InvalidArgumentError('invalid_tensor', scope, name, 'a DeviceTensor', t);
  }
  if (t.isFreed) throw new InvalidArgumentError('invalid_tensor', scope, name, 'a tensor that was not freed', describe(t));
  const dtypes = spec.dtype === undefined ? null : Array.isArray(spec.dtype) ? spec.dtype : [spec.dtype];
  if (dtypes && !dtypes.includes(t.dtype)) {
    throw new InvalidArgumentError('invalid_dtype', scope, `${name}.dtype`, dtypes.join(' or '), t.dtype);
  }
  if (spec.shape) {
    const ok = spec.shape.length === t.shape.length && spec.shape.every((d, i) => d === null || d === t.shape[i]);
    if (!ok) {
      const want = `[${spec.shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
      throw new InvalidArgumentError('invalid_shape', scope, `${name}.shape`, want, describe(t));
    }
  }
  if ((spec.contiguous ?? true) && !t.isContiguous) {
    throw new InvalidArgumentError('invalid_tensor', scope, name, 'a contiguous tensor', describe(t));
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function checkInt(scope: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new InvalidArgumentError('invalid_argument', scope, name, range, value);
  }
  return value;
}

/** Throws unless `value` is a finite number in (or, with open, strictly inside) [min, max]. */
export function checkNumber(scope: string, name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentError('invalid_argument', scope, name, `a finite number in [${min}, ${max}]`, value);
  }
  return value;
}

/** Throws unless tensors `a` and `b` have the same dtype. */
export function checkSameDType(scope: string, name: string, a: DeviceTensor, b: DeviceTensor): void {
  if (a.dtype !== b.dtype) throw new InvalidArgumentError('invalid_dtype', scope, `${name}.dtype`, a.dtype, b.dtype);
}
