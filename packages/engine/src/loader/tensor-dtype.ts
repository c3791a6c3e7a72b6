import { ModelLoadError } from '../model/model-error.js';
import type { ModelDtype } from '../model/model-config.js';

/** Element types a safetensors header may declare. */
export type TensorDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each {@link TensorDtype}. */
export const DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

let halfTable: Float32Array | null = null;

/** float16 bit pattern -> float32 value, for all 65536 patterns (built once, 256 KiB). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = table;
  return table;
}

/**
 * Converts stored tensor bytes to float32.
 * @param bytes little-endian elements
 * @param dtype their type (F64, F32, F16 or BF16)
 * @param what tensor description for errors
 * @returns a fresh Float32Array
 * @throws ModelLoadError (`model_load_failed`) for integer or boolean tensors
 */
export function decodeTensor(bytes: Uint8Array, dtype: TensorDtype, what: string): Float32Array {
  const n = bytes.length / DTYPE_BYTES[dtype];
  const out = new Float32Array(n);
  // Copy to an aligned buffer: tensor offsets in a file need not be multiples of the element size.
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  switch (dtype) {
    case 'F32':
      out.set(new Float32Array(aligned.buffer, 0, n));
      break;
    case 'F64':
      out.set(new Float64Array(aligned.buffer, 0, n));
      break;
    case 'BF16': {
      const src = new Uint16Array(aligned.buffer, 0, n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      break;
    }
    case 'F16': {
      const src = new Uint16Array(aligned.buffer, 0, n);
      const table = halfToFloatTable();
      for (let i = 0; i < n; i++) out[i] = table[src[i]!]!;
      break;
    }
    default:
      throw new ModelLoadError('model_load_failed', `${what} has dtype ${dtype}; weights must be F32, F16, BF16 or F64`);
  }
  return out;
}

/**
 * Rounds float32 values in place to the nearest value of a narrower format (round to nearest
 * even), so a CPU run with `dtype: 'bfloat16'` sees the weights a bf16 device would.
 * @param data values to round
 * @param dtype target format; `float32` leaves them unchanged
 */
export function roundToDtype(data: Float32Array, dtype: ModelDtype): void {
  if (dtype === 'float32') return;
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i]!;
      if ((b & 0x7f800000) === 0x7f800000) {
        bits[i] = b & 0xffff0000;
        continue;
      }
      bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
    }
    return;
  }
  // float16: Math.fround cannot help; scale to the 11-bit significand and round.
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (!Number.isFinite(x) || x === 0) continue;
    const a = Math.abs(x);
    if (a >= 65520) {
      data[i] = x > 0 ? Infinity : -Infinity;
      continue;
    }
    const e = Math.max(Math.floor(Math.log2(a)), -14);
    const ulp = 2 ** (e - 10);
    data[i] = Math.sign(x) * roundHalfEven(a / ulp) * ulp;
  }
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
