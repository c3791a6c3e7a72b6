import { ropeInverseFrequencies, type RopeConfig } from '../model/rope-config.js';

/**
 * Applies rotary position embeddings in the Hugging Face "rotate half" layout: dimension `i` of
 * the first half rotates with dimension `i + rotaryDim / 2`. cos/sin are computed in doubles and
 * cached per position, the cache growing by doubling up to the positions seen.
 */
export class RotaryEmbedding {
  private readonly invFreq: Float64Array;
  private readonly scale: number;
  private readonly half: number;
  private cos = new Float64Array(0);
  private sin = new Float64Array(0);
  private cachedPositions = 0;

  /**
   * @param rope the model's RoPE settings
   */
  constructor(rope: RopeConfig) {
    const { invFreq, scale } = ropeInverseFrequencies(rope);
    this.invFreq = invFreq;
    this.scale = scale;
    this.half = invFreq.length;
  }

  /**
   * Rotates `numHeads` consecutive head vectors of `headDim` starting at `offset` in `buf`.
   * @param buf the vectors (queries or keys)
   * @param offset index of the first head's first element
   * @param numHeads heads to rotate
   * @param headDim elements per head (the first `rotaryDim` rotate)
   * @param position the token's position in its sequence
   */
  apply(buf: Float32Array, offset: number, numHeads: number, headDim: number, position: number): void {
    if (position >= this.cachedPositions) this.grow(position + 1);
    const half = this.half;
    const cos = this.cos;
    const sin = this.sin;
    const c0 = position * half;
    for (let h = 0; h < numHeads; h++) {
      const base = offset + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[c0 + i]!;
        const s = sin[c0 + i]!;
        const a = buf[base + i]!;
        const b = buf[base + i + half]!;
        buf[base + i] = a * c - b * s;
        buf[base + i + half] = b * c + a * s;
      }
    }
  }

  private grow(minPositions: number): void {
    const n = Math.max(minPositions, this.cachedPositions * 2, 256);
    const half = this.half;
    const cos = new Float64Array(n * half);
    const sin = new Float64Array(n * half);
    cos.set(this.cos);
    sin.set(this.sin);
    for (let p = this.cachedPositions; p < n; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * this.invFreq[i]!;
        cos[p * half + i] = Math.cos(angle) * this.scale;
        sin[p * half + i] = Math.sin(angle) * this.scale;
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.cachedPositions = n;
  }
}
