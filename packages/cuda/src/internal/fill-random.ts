// Seeded random fill for dummy weights and caches: one host chunk of normals, tiled on the device
// with device-to-device copies (never zeros, which time unlike real data).
import { DeviceTensor } from '../device-tensor.js';
import type { FloatDType } from '../dtype.js';
import { roundToDType } from '../dtype.js';

const CHUNK = 1 << 20;

function normals(seed: number, n: number, scale: number, offset: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** Fills a contiguous float tensor with `offset + scale * N(0, 1)` values from `seed` (tiled). */
export function fillRandom(t: DeviceTensor, seed: number, scale: number, offset = 0): void {
  const n = Math.min(CHUNK, t.numel);
  if (n === 0) return;
  const chunk = DeviceTensor.fromHost(roundToDType(normals(seed, n, scale, offset), t.dtype as FloatDType), [n], t.dtype);
  const flat = t.view([t.numel]);
  for (let off = 0; off < t.numel; off += n) {
    const len = Math.min(n, t.numel - off);
    flat.rows(off, len).copyFrom(len === n ? chunk : chunk.rows(0, len));
  }
  chunk.free();
}
