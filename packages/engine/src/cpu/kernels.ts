/**
 * Dense CPU kernels over Float32Array. Accumulation happens in doubles (JavaScript numbers), so
 * results are at least as accurate as a float32 GEMM. No kernel allocates.
 */

/**
 * `out[t, o] = sum_i x[t, i] * w[o, i] (+ bias[o])` for `t < rows`: a linear layer with `nn.Linear`'s
 * `[out, in]` weight layout. Tiled 4 outputs x 4 rows so every weight load feeds four rows and
 * every input load four outputs.
 *
 * @param out destination, `[rows, outDim]` (may be longer)
 * @param x input, `[rows, inDim]`
 * @param w weight, `[outDim, inDim]`
 * @param bias optional `[outDim]`
 * @param rows number of input rows
 * @param inDim input features
 * @param outDim output features
 */
export function linear(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  rows: number,
  inDim: number,
  outDim: number,
): void {
  let o = 0;
  for (; o + 4 <= outDim; o += 4) {
    const w0 = o * inDim;
    const w1 = w0 + inDim;
    const w2 = w1 + inDim;
    const w3 = w2 + inDim;
    const b0 = bias ? bias[o]! : 0;
    const b1 = bias ? bias[o + 1]! : 0;
    const b2 = bias ? bias[o + 2]! : 0;
    const b3 = bias ? bias[o + 3]! : 0;
    let t = 0;
    for (; t + 4 <= rows; t += 4) {
      const xa = t * inDim;
      const xb = xa + inDim;
      const xc = xb + inDim;
      const xd = xc + inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      let e0 = 0, e1 = 0, e2 = 0, e3 = 0;
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      for (let i = 0; i < inDim; i++) {
        const q0 = w[w0 + i]!, q1 = w[w1 + i]!, q2 = w[w2 + i]!, q3 = w[w3 + i]!;
        const va = x[xa + i]!, vb = x[xb + i]!, vc = x[xc + i]!, vd = x[xd + i]!;
        a0 += va * q0; a1 += va * q1; a2 += va * q2; a3 += va * q3;
        c0 += vb * q0; c1 += vb * q1; c2 += vb * q2; c3 += vb * q3;
        e0 += vc * q0; e1 += vc * q1; e2 += vc * q2; e3 += vc * q3;
        d0 += vd * q0; d1 += vd * q1; d2 += vd * q2; d3 += vd * q3;
      }
      let r = t * outDim + o;
      out[r] = a0 + b0; out[r + 1] = a1 + b1; out[r + 2] = a2 + b2; out[r + 3] = a3 + b3;
      r += outDim;
      out[r] = c0 + b0; out[r + 1] = c1 + b1; out[r + 2] = c2 + b2; out[r + 3] = c3 + b3;
      r += outDim;
      out[r] = e0 + b0; out[r + 1] = e1 + b1; out[r + 2] = e2 + b2; out[r + 3] = e3 + b3;
      r += outDim;
      out[r] = d0 + b0; out[r + 1] = d1 + b1; out[r + 2] = d2 + b2; out[r + 3] = d3 + b3;
    }
    for (; t < rows; t++) {
      const xa = t * inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let i = 0; i < inDim; i++) {
        const v = x[xa + i]!;
        a0 += v * w[w0 + i]!; a1 += v * w[w1 + i]!; a2 += v * w[w2 + i]!; a3 += v * w[w3 + i]!;
      }
      const r = t * outDim + o;
      out[r] = a0 + b0; out[r + 1] = a1 + b1; out[r + 2] = a2 + b2; out[r + 3] = a3 + b3;
    }
  }
  for (; o < outDim; o++) {
    const w0 = o * inDim;
    const b0 = bias ? bias[o]! : 0;
    for (let t = 0; t < rows; t++) {
      const xa = t * inDim;
      let a = 0;
      for (let i = 0; i < inDim; i++) a += x[xa + i]! * w[w0 + i]!;
      out[t * outDim + o] = a + b0;
    }
  }
}

/**
 * RMSNorm of `rows` vectors of `dim` starting at `offset` with stride `stride`, in place or into `out`:
 * `y = x / sqrt(mean(x^2) + eps) * weight`.
 *
 * @param out destination (may be `x`)
 * @param x input rows
 * @param weight `[dim]` gain
 * @param rows number of vectors
 * @param dim vector length
 * @param eps variance epsilon
 * @param stride distance between consecutive vectors (defaults to `dim`)
 * @param offset index of the first element (defaults to 0)
 */
export function rmsNorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  dim: number,
  eps: number,
  stride = dim,
  offset = 0,
): void {
  for (let r = 0; r < rows; r++) {
    const base = offset + r * stride;
    let ss = 0;
    for (let i = 0; i < dim; i++) {
      const v = x[base + i]!;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[base + i] = x[base + i]! * inv * weight[i]!;
  }
}

/**
 * SwiGLU over rows laid out `[gate(inter), up(inter)]`: `out[t, i] = silu(gate) * up`.
 *
 * @param out destination `[rows, inter]`
 * @param gateUp input `[rows, 2 * inter]`
 * @param rows number of rows
 * @param inter intermediate size
 */
export function siluAndMul(out: Float32Array, gateUp: Float32Array, rows: number, inter: number): void {
  for (let t = 0; t < rows; t++) {
    const g = t * 2 * inter;
    const o = t * inter;
    for (let i = 0; i < inter; i++) {
      const a = gateUp[g + i]!;
      out[o + i] = (a / (1 + Math.exp(-a))) * gateUp[g + inter + i]!;
    }
  }
}

/**
 * `x[i] += y[i]` for `i < n`.
 * @param x accumulated in place
 * @param y addend
 * @param n element count
 */
export function addInPlace(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i] = x[i]! + y[i]!;
}
