import { InvalidArgumentError } from '@vllm-ts/core';
import { checkInt, checkNumber } from './internal/check.js';

/** RoPE frequency scaling, as in a Hugging Face `rope_scaling` config (camel-cased). */
export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    }
  | {
      readonly type: 'yarn';
      readonly factor: number;
      readonly originalMaxPositionEmbeddings: number;
      readonly betaFast?: number;
      readonly betaSlow?: number;
      readonly mscale?: number;
      readonly mscaleAllDim?: number;
      readonly attentionFactor?: number;
    };

/** Inputs of {@link computeRopeCosSinCache}. */
export interface RopeCacheOptions {
  /** Dimensions rotated per head (the head dim, or less for partial rotary). Even. */
  readonly rotaryDim: number;
  /** Positions covered: rows of the cache. */
  readonly maxPosition: number;
  /** `rope_theta`. */
  readonly base: number;
  /** Frequency scaling; default none. */
  readonly scaling?: RopeScaling;
}

const S = 'computeRopeCosSinCache';

function yarnMscale(scale: number, m = 1): number {
  return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
}

/**
 * Per-pair inverse frequencies after scaling, and the factor cos/sin are multiplied by
 * (1 except for yarn). Formulas follow Hugging Face `modeling_rope_utils`.
 * @param options rotary dim, base and scaling
 * @returns inverse frequencies (rotaryDim / 2 of them) and the magnitude scale
 * @throws {InvalidArgumentError} for invalid dims or scaling parameters
 */
export function ropeInverseFrequencies(options: RopeCacheOptions): { invFreq: Float64Array; attentionScale: number } {
  const dim = checkInt(S, 'rotaryDim', options.rotaryDim, 2);
  if (dim % 2 !== 0) throw new InvalidArgumentError('invalid_argument', S, 'rotaryDim', 'an even integer', dim);
  const base = checkNumber(S, 'base', options.base, Number.MIN_VALUE);
  const half = dim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / base ** ((2 * i) / dim);
  const scaling = options.scaling ?? { type: 'default' };
  switch (scaling.type) {
    case 'default':
      return { invFreq, attentionScale: 1 };
    case 'linear': {
      const factor = checkNumber(S, 'scaling.factor', scaling.factor, Number.MIN_VALUE);
      for (let i = 0; i < half; i++) invFreq[i]! /= factor;
      return { invFreq, attentionScale: 1 };
    }
    case 'llama3': {
      const factor = checkNumber(S, 'scaling.factor', scaling.factor, Number.MIN_VALUE);
      const low = checkNumber(S, 'scaling.lowFreqFactor', scaling.lowFreqFactor, Number.MIN_VALUE);
      const high = checkNumber(S, 'scaling.highFreqFactor', scaling.highFreqFactor, low);
      const oldLen = checkNumber(S, 'scaling.originalMaxPositionEmbeddings', scaling.originalMaxPositionEmbeddings, 1);
      const lowFreqWavelen = oldLen / low;
      const highFreqWavelen = oldLen / high;
      for (let i = 0; i < half; i++) {
        const f = invFreq[i]!;
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highFreqWavelen) continue;
        if (wavelen > lowFreqWavelen) {
          invFreq[i] = f / factor;
          continue;
        }
        const smooth = (oldLen / wavelen - low) / (high - low);
        invFreq[i] = (1 - smooth) * (f / factor) + smooth * f;
      }
      return { invFreq, attentionScale: 1 };
    }
    case 'yarn': {
      const factor = checkNumber(S, 'scaling.factor', scaling.factor, Number.MIN_VALUE);
      const oldLen = checkNumber(S, 'scaling.originalMaxPositionEmbeddings', scaling.originalMaxPositionEmbeddings, 1);
      const betaFast = scaling.betaFast ?? 32;
      const betaSlow = scaling.betaSlow ?? 1;
      let attentionScale = scaling.attentionFactor;
      if (attentionScale === undefined) {
        attentionScale =
          scaling.mscale !== undefined && scaling.mscaleAllDim !== undefined
            ? yarnMscale(factor, scaling.mscale) / yarnMscale(factor, scaling.mscaleAllDim)
            : yarnMscale(factor);
      }
      const correctionDim = (rotations: number) => (dim * Math.log(oldLen / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
      const low = Math.max(Math.floor(correctionDim(betaFast)), 0);
      let high = Math.min(Math.ceil(correctionDim(betaSlow)), dim - 1);
      if (low === high) high += 0.001;
      for (let i = 0; i < half; i++) {
        const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
        const extrapolationFactor = 1 - ramp;
        const extrapolated = invFreq[i]!;
        const interpolated = extrapolated / factor;
        invFreq[i] = interpolated * (1 - extrapolationFactor) + extrapolated * extrapolationFactor;
      }
      return { invFreq, attentionScale };
    }
    default:
      throw new InvalidArgumentError(
        'invalid_argument',
        S,
        'scaling.type',
        "'default', 'linear', 'llama3' or 'yarn'",
        (scaling as { type: unknown }).type,
      );
  }
}

/**
 * The cos/sin table the rotary kernel reads: float32 [maxPosition, rotaryDim], row p holding
 * cos(p * invFreq) in its first half and sin(p * invFreq) in its second (times the yarn scale).
 * Angles are computed in float64.
 * @param options rotary dim, positions, base and scaling
 * @returns the table, row-major
 * @throws {InvalidArgumentError} for invalid options
 * @example
 * ```ts
 * const cache = computeRopeCosSinCache({ rotaryDim: 128, maxPosition: 8192, base: 500000,
 *   scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } });
 * ```
 */
export function computeRopeCosSinCache(options: RopeCacheOptions): Float32Array {
  const maxPosition = checkInt(S, 'maxPosition', options.maxPosition, 1);
  const { invFreq, attentionScale } = ropeInverseFrequencies(options);
  const dim = options.rotaryDim;
  const half = dim / 2;
  const out = new Float32Array(maxPosition * dim);
  for (let p = 0; p < maxPosition; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      out[p * dim + i] = Math.cos(angle) * attentionScale;
      out[p * dim + half + i] = Math.sin(angle) * attentionScale;
    }
  }
  return out;
}
