import { InvalidArgumentError } from '@vllm-ts/core';

/** Element types a {@link DeviceTensor} can hold. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'int32';

/** Floating element types: the activations and weights the kernels compute on. */
export type FloatDType = Exclude<DType, 'int32'>;

const CODES: Record<DType, number> = { float32: 0, float16: 1, bfloat16: 2, int32: 3 };
const SIZES: Record<DType, number> = { float32: 4, float16: 2, bfloat16: 2, int32: 4 };

/** @internal Native dtype code (matches `vllm_cuda::DType`). */
export function dtypeCode(dtype: DType): number {
  return CODES[dtype];
}

/**
 * Bytes per element of `dtype`.
 * @param dtype an element type
 * @returns 4 for float32/int32, 2 for float16/bfloat16
 * @throws {InvalidArgumentError} for an unknown dtype
 */
export function dtypeSize(dtype: DType): number {
  const size = SIZES[dtype];
  if (size === undefined) {
    throw new InvalidArgumentError('invalid_dtype', 'cuda', 'dtype', `one of ${Object.keys(SIZES).join(', ')}`, dtype);
  }
  return size;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Converts float32 values to bfloat16 bit patterns, rounding to nearest even (NaN stays NaN).
 * @param values float values
 * @returns one uint16 bit pattern per value
 */
export function toBfloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const bits = u32[0]!;
    if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
      out[i] = 0x7fc0;
      continue;
    }
    out[i] = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Converts bfloat16 bit patterns to float32 values (exact).
 * @param bits uint16 bit patterns
 * @returns the values they encode
 */
export function fromBfloat16Bits(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/**
 * Converts float32 values to IEEE half-precision bit patterns, rounding to nearest even.
 * @param values float values
 * @returns one uint16 bit pattern per value
 */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let h = mant >>> shift;
      if (rest > half || (rest === half && (h & 1) === 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    out[i] = sign | h;
  }
  return out;
}

/**
 * Converts IEEE half-precision bit patterns to float32 values (exact).
 * @param bits uint16 bit patterns
 * @returns the values they encode
 */
export function fromFloat16Bits(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/**
 * Rounds float values to the precision of `dtype` (what a store of that dtype keeps), in place.
 * @param values values to round; modified
 * @param dtype target precision
 * @returns `values`
 */
export function roundToDType(values: Float32Array, dtype: FloatDType): Float32Array {
  if (dtype === 'bfloat16') values.set(fromBfloat16Bits(toBfloat16Bits(values)));
  else if (dtype === 'float16') values.set(fromFloat16Bits(toFloat16Bits(values)));
  return values;
}
