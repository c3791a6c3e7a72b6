import { afterEach, describe, expect, it } from 'vitest';
import { synchronizeDevice } from '../device.js';
import { DeviceTensor } from '../device-tensor.js';
import { roundToDType } from '../dtype.js';
import {
  embeddingReference,
  fusedAddRmsNormReference,
  gemmReference,
  rmsNormReference,
  siluAndMulReference,
} from '../reference/layers.js';
import { FLOAT_DTYPES, TensorScope, cudaAvailable, gpuSuite } from '../testing/gpu.js';
import { Rng, relativeError, tolerance } from '../testing/random.js';
import { gemm, gemv, gemvSiluAndMul } from './gemm.js';
import { embedding, fusedAddRmsNorm, rmsNorm, siluAndMul } from './layers.js';

describe.skipIf(!cudaAvailable)(gpuSuite('layer kernels'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  for (const dtype of FLOAT_DTYPES) {
    it(`embedding gathers rows (${dtype})`, () => {
      const rng = new Rng();
      const [vocab, hidden, n] = [1000, 136, 77];
      const table = rng.tensor(vocab * hidden, dtype);
      const ids = Int32Array.from({ length: n }, () => rng.int(0, vocab));
      ids[3] = vocab + 5; // out of range: a zero row
      const out = scope.poisoned([n, hidden], dtype);
      embedding(out, scope.from(ids, [n], 'int32'), scope.from(table, [vocab, hidden], dtype));
      synchronizeDevice();
      expect(relativeError(out.toHost(), embeddingReference(ids, table, hidden)), `seed ${rng.seed}`).toBe(0);
    });

    // 4096: one 16-byte vector per thread; 12296: two per thread; 1003: the scalar kernel (odd width).
    for (const [n, hidden] of [[37, 4096], [1, 4096], [3, 12296], [5, 1003]] as const) {
      it(`rmsNorm and fusedAddRmsNorm match the reference (${dtype}, ${n} x ${hidden})`, () => {
        const rng = new Rng();
        const eps = 1e-5;
        const x = rng.tensor(n * hidden, dtype, 3);
        const r = rng.tensor(n * hidden, dtype);
        const w = rng.tensor(hidden, dtype);
        const out = scope.poisoned([n, hidden], dtype);
        const xd = scope.from(x, [n, hidden], dtype);
        const wd = scope.from(w, [hidden], dtype);
        rmsNorm(out, xd, wd, eps);
        synchronizeDevice();
        expect(relativeError(out.toHost(), rmsNormReference(x, w, eps, dtype)), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));

        const rd = scope.from(r, [n, hidden], dtype);
        fusedAddRmsNorm(xd, rd, wd, eps);
        synchronizeDevice();
        const ref = fusedAddRmsNormReference(x, r, w, eps, dtype);
        expect(relativeError(rd.toHost(), ref.residual), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
        expect(relativeError(xd.toHost(), ref.out), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
      });
    }

    // 1000: vectorized (a partial last chunk of the grid); 1001: the scalar kernel.
    for (const [n, d] of [[19, 1000], [1, 14336], [4, 1001]] as const) {
      it(`siluAndMul matches the reference (${dtype}, ${n} x ${d})`, () => {
        const rng = new Rng();
        const x = rng.tensor(n * 2 * d, dtype, 2);
        const out = scope.poisoned([n, d], dtype);
        siluAndMul(out, scope.from(x, [n, 2 * d], dtype));
        synchronizeDevice();
        expect(relativeError(out.toHost(), siluAndMulReference(x, d)), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
      });
    }
  }

  for (const [inDtype, outDtype] of [['bfloat16', 'bfloat16'], ['bfloat16', 'float32'], ['float16', 'float16'], ['float32', 'float32']] as const) {
    it(`gemm ${inDtype} -> ${outDtype} matches the reference (fp32 accumulate)`, () => {
      const rng = new Rng();
      const [m, n, k] = [33, 200, 264];
      const a = rng.tensor(m * k, inDtype);
      const w = rng.tensor(n * k, inDtype, 0.1);
      const out = scope.poisoned([m, n], outDtype);
      gemm({ out, a: scope.from(a, [m, k], inDtype), weight: scope.from(w, [n, k], inDtype) });
      synchronizeDevice();
      // fp32 inputs may run on tf32-free fp32 paths; allow the tf32 bound anyway.
      const tol = outDtype === 'float32' ? (inDtype === 'float32' ? 1e-3 : 1e-4) : tolerance(outDtype);
      expect(relativeError(out.toHost(), gemmReference(a, w, k)), `seed ${rng.seed}`).toBeLessThan(tol);
    });
  }

  // The skinny decode kernel: alone (gemv) and through gemm, which may pick it per shape.
  for (const [inDtype, outDtype, m] of [['bfloat16', 'bfloat16', 1], ['bfloat16', 'float32', 3], ['float16', 'float16', 8], ['bfloat16', 'bfloat16', 5]] as const) {
    it(`gemv and gemm at m = ${m} (${inDtype} -> ${outDtype}) match the reference`, () => {
      const rng = new Rng();
      // k past one unrolled sweep (4 x 256) with a ragged tail; n not a multiple of the 8 rows per block.
      const [n, k] = [203, 1304];
      const a = rng.tensor(m * k, inDtype);
      const w = rng.tensor(n * k, inDtype, 0.1);
      const ref = gemmReference(a, w, k);
      const tol = outDtype === 'float32' ? 1e-4 : tolerance(outDtype);
      const aDev = scope.from(a, [m, k], inDtype);
      const wDev = scope.from(w, [n, k], inDtype);
      for (const op of [gemv, gemm]) {
        const out = scope.poisoned([m, n], outDtype);
        op({ out, a: aDev, weight: wDev });
        op({ out, a: aDev, weight: wDev }); // the second call runs the plan gemm chose on the first
        synchronizeDevice();
        expect(relativeError(out.toHost(), ref), `${op.name}, seed ${rng.seed}`).toBeLessThan(tol);
      }
      // beta = 1 into a column view: out += a . w^T.
      const base = rng.tensor(m * 2 * n, 'float32');
      const outAll = scope.from(base, [m, 2 * n], 'float32');
      gemv({ out: outAll.columns(n, n), a: aDev, weight: wDev, beta: 1 });
      synchronizeDevice();
      const acc = Float32Array.from(base);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) acc[i * 2 * n + n + j]! += ref[i * n + j]!;
      expect(relativeError(outAll.toHost(), acc), `seed ${rng.seed}`).toBeLessThan(1e-4);
    });
  }

  // Rows of 8200 take the long-row variant (8 loads in flight per lane) with a ragged tail.
  for (const [dtype, m, n, k] of [['bfloat16', 1, 203, 1304], ['float16', 3, 77, 8200], ['bfloat16', 8, 130, 4096], ['bfloat16', 5, 33, 8200]] as const) {
    it(`gemvSiluAndMul equals gemv then siluAndMul and matches the reference (${dtype}, m = ${m}, n = ${n}, k = ${k})`, () => {
      const rng = new Rng();
      const a = rng.tensor(m * k, dtype);
      const w = rng.tensor(2 * n * k, dtype, 0.05);
      const aDev = scope.from(a, [m, k], dtype);
      const wDev = scope.from(w, [2 * n, k], dtype);
      const fused = scope.poisoned([m, n], dtype);
      gemvSiluAndMul({ out: fused, a: aDev, weight: wDev });
      const gateUp = scope.poisoned([m, 2 * n], dtype);
      const unfused = scope.poisoned([m, n], dtype);
      gemv({ out: gateUp, a: aDev, weight: wDev });
      siluAndMul(unfused, gateUp);
      // Into a column view of a wider buffer: only its columns change.
      const wide = scope.poisoned([m, n + 8], dtype);
      gemvSiluAndMul({ out: wide.columns(8, n), a: aDev, weight: wDev });
      synchronizeDevice();
      const got = fused.toHost();
      expect(Array.from(got), `seed ${rng.seed}: bit-identical to the unfused pair`).toEqual(Array.from(unfused.toHost()));
      const wideHost = wide.toHost();
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < 8; j++) expect(Number.isNaN(wideHost[i * (n + 8) + j]!), `untouched column ${j}`).toBe(true);
        for (let j = 0; j < n; j++) expect(wideHost[i * (n + 8) + 8 + j]).toBe(got[i * n + j]);
      }
      const ref = siluAndMulReference(roundToDType(gemmReference(a, w, k), dtype), n);
      expect(relativeError(got, ref), `seed ${rng.seed}`).toBeLessThan(tolerance(dtype));
    });
  }

  it('gemvSiluAndMul rejects an odd number of weight rows, a float32 output and more than 8 rows', () => {
    const a = scope.from(new Float32Array(16), [1, 16], 'bfloat16');
    const w = scope.from(new Float32Array(6 * 16), [6, 16], 'bfloat16');
    expect(() => gemvSiluAndMul({ out: scope.poisoned([1, 3], 'float32'), a, weight: w })).toThrow(/gemvSiluAndMul\.out\.dtype/);
    const w5 = scope.from(new Float32Array(5 * 16), [5, 16], 'bfloat16');
    expect(() => gemvSiluAndMul({ out: scope.poisoned([1, 2], 'bfloat16'), a, weight: w5 })).toThrow(/gemvSiluAndMul\.weight\.shape\[0\] must be an even number/);
    const a9 = scope.from(new Float32Array(9 * 16), [9, 16], 'bfloat16');
    expect(() => gemvSiluAndMul({ out: scope.poisoned([9, 3], 'bfloat16'), a: a9, weight: w })).toThrow(/gemvSiluAndMul\.a\.shape\[0\] must be 1 to 8 rows/);
  });

  it('gemv rejects more than 8 rows and k not a multiple of 8', () => {
    const w = scope.from(new Float32Array(16 * 12), [16, 12], 'bfloat16');
    const out = scope.poisoned([1, 16], 'bfloat16');
    expect(() => gemv({ out, a: scope.from(new Float32Array(12), [1, 12], 'bfloat16'), weight: w })).toThrow(/gemv\.weight\.shape\[1\] must be a multiple of 8/);
    const w8 = scope.from(new Float32Array(16 * 8), [16, 8], 'bfloat16');
    const out9 = scope.poisoned([9, 16], 'bfloat16');
    expect(() => gemv({ out: out9, a: scope.from(new Float32Array(72), [9, 8], 'bfloat16'), weight: w8 })).toThrow(/gemv\.a\.shape\[0\] must be 1 to 8 rows/);
  });

  it('gemm accumulates into a column view with beta = 1', () => {
    const rng = new Rng();
    const [m, n, k] = [8, 64, 128];
    const a = rng.tensor(m * k, 'bfloat16');
    const w = rng.tensor(n * k, 'bfloat16', 0.1);
    const base = rng.tensor(m * 2 * n, 'float32');
    const outAll = scope.from(base, [m, 2 * n], 'float32');
    gemm({ out: outAll.columns(n, n), a: scope.from(a, [m, k], 'bfloat16'), weight: scope.from(w, [n, k], 'bfloat16'), beta: 1 });
    synchronizeDevice();
    const prod = gemmReference(a, w, k);
    const ref = Float32Array.from(base);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) ref[i * 2 * n + n + j]! += prod[i * n + j]!;
    expect(relativeError(outAll.toHost(), ref), `seed ${rng.seed}`).toBeLessThan(1e-4);
  });

  it('rejects mismatched shapes and dtypes before launching', () => {
    const x = scope.from(new Float32Array(8), [2, 4], 'float32');
    const w = scope.from(new Float32Array(3), [3], 'float32');
    expect(() => rmsNorm(x, x, w, 1e-5)).toThrow(/rmsNorm\.weight\.shape must be \[4\]/);
    const wb = scope.from(roundToDType(new Float32Array(4), 'bfloat16'), [4], 'bfloat16');
    expect(() => rmsNorm(x, x, wb, 1e-5)).toThrow(/weight\.dtype must be float32/);
    expect(() => rmsNorm(x, x, scope.from(new Float32Array(4), [4], 'float32'), 0)).toThrow(/eps must be/);
    const t = DeviceTensor.empty([4], 'float32');
    t.free();
    expect(() => t.address).toThrow(/used after free/);
  });
});
