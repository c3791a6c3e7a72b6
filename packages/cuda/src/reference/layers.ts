// CPU references for the per-token layer kernels, in float64 over float32 arrays. Inputs hold the
// exact values the device sees (already rounded to the dtype); `round` mimics each device store.
import { roundToDType } from '../dtype.js';
import type { FloatDType } from '../dtype.js';

/** Rounds one value to `dtype`. */
function rounder(dtype: FloatDType): (v: number) => number {
  const one = new Float32Array(1);
  return (v) => {
    one[0] = v;
    return roundToDType(one, dtype)[0]!;
  };
}

/**
 * Reference embedding gather (zero rows for out-of-range ids).
 * @param ids token ids
 * @param table [vocabSize, hidden] row-major
 * @param hidden row width
 * @returns [ids.length, hidden]
 */
export function embeddingReference(ids: Int32Array, table: Float32Array, hidden: number): Float32Array {
  const vocab = table.length / hidden;
  const out = new Float32Array(ids.length * hidden);
  ids.forEach((id, t) => {
    if (id >= 0 && id < vocab) out.set(table.subarray(id * hidden, (id + 1) * hidden), t * hidden);
  });
  return out;
}

/**
 * Reference RMSNorm (normalized value rounded to `dtype` before the weight multiply).
 * @param x [n, hidden]
 * @param weight [hidden]
 * @param eps epsilon
 * @param dtype storage dtype
 * @returns [n, hidden]
 */
export function rmsNormReference(x: Float32Array, weight: Float32Array, eps: number, dtype: FloatDType): Float32Array {
  const hidden = weight.length;
  const round = rounder(dtype);
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / hidden; r++) {
    let sumSq = 0;
    for (let i = 0; i < hidden; i++) sumSq += x[r * hidden + i]! ** 2;
    const inv = 1 / Math.sqrt(sumSq / hidden + eps);
    for (let i = 0; i < hidden; i++) out[r * hidden + i] = round(x[r * hidden + i]! * inv) * weight[i]!;
  }
  return out;
}

/**
 * Reference fused residual add + RMSNorm.
 * @param x [n, hidden] input
 * @param residual [n, hidden]
 * @param weight [hidden]
 * @param eps epsilon
 * @param dtype storage dtype
 * @returns the new residual (x + residual, rounded) and the normalized output
 */
export function fusedAddRmsNormReference(
  x: Float32Array,
  residual: Float32Array,
  weight: Float32Array,
  eps: number,
  dtype: FloatDType,
): { residual: Float32Array; out: Float32Array } {
  const round = rounder(dtype);
  const sum = x.map((v, i) => round(v + residual[i]!));
  return { residual: sum, out: rmsNormReference(sum, weight, eps, dtype) };
}

/**
 * Reference SiLU-and-multiply.
 * @param x [n, 2d]
 * @param d half width
 * @returns [n, d]
 */
export function siluAndMulReference(x: Float32Array, d: number): Float32Array {
  const n = x.length / (2 * d);
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d; i++) {
      const g = x[r * 2 * d + i]!;
      out[r * d + i] = (g / (1 + Math.exp(-g))) * x[r * 2 * d + d + i]!;
    }
  }
  return out;
}

/**
 * Reference GEMM: out[m, n] = a[m, k] . w[n, k]^T.
 * @param a [m, k]
 * @param w [n, k]
 * @param k inner dimension
 * @returns [m, n]
 */
export function gemmReference(a: Float32Array, w: Float32Array, k: number): Float32Array {
  const m = a.length / k;
  const n = w.length / k;
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += a[i * k + t]! * w[j * k + t]!;
      out[i * n + j] = acc;
    }
  }
  return out;
}
