// Test and benchmark helpers (not exported): a small seeded generator whose seed is drawn fresh
// each run and printed on failure, and the relative error the method notes prescribe.
import { roundToDType } from '../dtype.js';
import type { FloatDType } from '../dtype.js';

/** A seeded generator (mulberry32). */
export class Rng {
  #state: number;
  /** The seed, for reproducing a failing run. */
  readonly seed: number;

  constructor(seed = Math.floor(Math.random() * 2 ** 31)) {
    this.seed = seed;
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }

  /** `n` normals times `scale`, rounded to `dtype` so host and device hold the same values. */
  tensor(n: number, dtype: FloatDType, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * scale;
    return roundToDType(out, dtype);
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const out = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** ‖out − ref‖ / ‖ref‖; Infinity when `out` holds a NaN (an unwritten, poisoned element). */
export function relativeError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i]!;
    if (Number.isNaN(o)) return Infinity;
    num += (o - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Tolerance for ‖out − ref‖/‖ref‖ by the dtype the kernel stores (GPU method notes). */
export function tolerance(dtype: FloatDType): number {
  return dtype === 'float32' ? 1e-4 : dtype === 'float16' ? 2e-3 : 1e-2;
}
