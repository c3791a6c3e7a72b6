import { ModelLoadError } from './model-error.js';

/** RoPE variants this engine implements (Hugging Face `rope_type` names). */
export type RopeType = 'default' | 'linear' | 'dynamic' | 'llama3' | 'yarn';

/** Rotary position embedding settings, resolved from `rope_theta`/`rope_scaling` or `rope_parameters`. */
export interface RopeConfig {
  readonly type: RopeType;
  /** Base of the inverse frequencies. */
  readonly theta: number;
  /** Dimensions of each head that rotate (the first `rotaryDim`; the rest pass through). */
  readonly rotaryDim: number;
  /** Context scaling factor (1 for `default`). */
  readonly factor: number;
  /** Context length the model was pre-trained with (llama3, yarn). */
  readonly originalMaxPositionEmbeddings: number;
  /** llama3: wavelengths longer than `original / lowFreqFactor` are fully scaled. */
  readonly lowFreqFactor: number;
  /** llama3: wavelengths shorter than `original / highFreqFactor` are left unscaled. */
  readonly highFreqFactor: number;
  /** yarn: rotations at which the ramp between extrapolation and interpolation starts and ends. */
  readonly betaFast: number;
  readonly betaSlow: number;
  /** yarn: scale applied to cos and sin (null: derived from `factor`, `mscale`, `mscaleAllDim`). */
  readonly attentionFactor: number | null;
  readonly mscale: number | null;
  readonly mscaleAllDim: number | null;
}

const ROPE_TYPES: readonly RopeType[] = ['default', 'linear', 'dynamic', 'llama3', 'yarn'];

/**
 * Reads RoPE settings from a Hugging Face `config.json` object. Both layouts are accepted: the
 * older `rope_theta` + `rope_scaling` (`type` or `rope_type`) keys and the newer `rope_parameters`.
 *
 * @param cfg the parsed config.json
 * @param headDim the attention head size
 * @param maxPositionEmbeddings the config's `max_position_embeddings`
 * @returns the resolved settings
 * @throws ModelLoadError (`unsupported_model`) for a RoPE type not implemented here
 */
export function parseRopeConfig(cfg: Record<string, unknown>, headDim: number, maxPositionEmbeddings: number): RopeConfig {
  const params = (isObject(cfg.rope_parameters) ? cfg.rope_parameters : {}) as Record<string, unknown>;
  const scaling = (isObject(cfg.rope_scaling) ? cfg.rope_scaling : {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...scaling, ...params };
  const rawType = merged.rope_type ?? merged.type ?? 'default';
  const type = rawType === 'mrope' ? 'default' : rawType;
  if (!ROPE_TYPES.includes(type as RopeType)) {
    throw new ModelLoadError(
      'unsupported_model',
      `config.json rope type must be one of ${ROPE_TYPES.join(', ')} (got ${JSON.stringify(rawType)})`,
    );
  }
  const theta = numberOr(merged.rope_theta ?? cfg.rope_theta, 10000);
  const partial = numberOr(merged.partial_rotary_factor ?? cfg.partial_rotary_factor, 1);
  const rotaryDim = Math.floor(headDim * partial);
  const factor = type === 'default' ? 1 : numberOr(merged.factor, 1);
  const original = numberOr(merged.original_max_position_embeddings ?? cfg.original_max_position_embeddings, maxPositionEmbeddings);
  return Object.freeze({
    type: type as RopeType,
    theta,
    rotaryDim,
    factor,
    originalMaxPositionEmbeddings: original,
    lowFreqFactor: numberOr(merged.low_freq_factor, 1),
    highFreqFactor: numberOr(merged.high_freq_factor, 4),
    betaFast: numberOr(merged.beta_fast, 32),
    betaSlow: numberOr(merged.beta_slow, 1),
    attentionFactor: nullableNumber(merged.attention_factor),
    mscale: nullableNumber(merged.mscale),
    mscaleAllDim: nullableNumber(merged.mscale_all_dim),
  });
}

/**
 * Inverse frequencies (one per rotating pair) and the cos/sin scale of a RoPE configuration,
 * following the Hugging Face / vLLM formulas of each type.
 *
 * @param rope resolved RoPE settings
 * @returns `invFreq` of length `rotaryDim / 2` and `scale` applied to cos and sin
 */
export function ropeInverseFrequencies(rope: RopeConfig): { invFreq: Float64Array; scale: number } {
  const dim = rope.rotaryDim;
  const half = dim / 2;
  const invFreq = new Float64Array(half);
  let base = rope.theta;
  if (rope.type === 'dynamic') {
    // vLLM's static form of dynamic NTK: the base is stretched once for maxLen = original * factor,
    // so a position's rotation never depends on how long the sequence is.
    const f = rope.factor;
    base = base * (f * f - (f - 1)) ** (dim / (dim - 2));
  }
  for (let i = 0; i < half; i++) invFreq[i] = 1 / base ** ((2 * i) / dim);
  let scale = 1;
  switch (rope.type) {
    case 'default':
    case 'dynamic':
      break;
    case 'linear':
      for (let i = 0; i < half; i++) invFreq[i] = invFreq[i]! / rope.factor;
      break;
    case 'llama3': {
      const old = rope.originalMaxPositionEmbeddings;
      const lowWavelen = old / rope.lowFreqFactor;
      const highWavelen = old / rope.highFreqFactor;
      for (let i = 0; i < half; i++) {
        const f = invFreq[i]!;
        const wavelen = (2 * Math.PI) / f;
        if (wavelen > lowWavelen) invFreq[i] = f / rope.factor;
        else if (wavelen >= highWavelen) {
          const smooth = (old / wavelen - rope.lowFreqFactor) / (rope.highFreqFactor - rope.lowFreqFactor);
          invFreq[i] = (1 - smooth) * (f / rope.factor) + smooth * f;
        }
      }
      break;
    }
    case 'yarn': {
      const old = rope.originalMaxPositionEmbeddings;
      const correction = (rotations: number): number =>
        (dim * Math.log(old / (rotations * 2 * Math.PI))) / (2 * Math.log(rope.theta));
      const low = Math.max(Math.floor(correction(rope.betaFast)), 0);
      let high = Math.min(Math.ceil(correction(rope.betaSlow)), dim - 1);
      if (low === high) high += 0.001;
      for (let i = 0; i < half; i++) {
        const extrapolation = invFreq[i]!;
        const interpolation = extrapolation / rope.factor;
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        const extrapolationWeight = 1 - ramp;
        invFreq[i] = interpolation * (1 - extrapolationWeight) + extrapolation * extrapolationWeight;
      }
      scale = yarnAttentionFactor(rope);
      break;
    }
  }
  return { invFreq, scale };
}

function yarnMscale(factor: number, mscale = 1): number {
  return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
}

function yarnAttentionFactor(rope: RopeConfig): number {
  if (rope.attentionFactor !== null) return rope.attentionFactor;
  if (rope.mscale !== null && rope.mscaleAllDim !== null) {
    return yarnMscale(rope.factor, rope.mscale) / yarnMscale(rope.factor, rope.mscaleAllDim);
  }
  return yarnMscale(rope.factor);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function numberOr(x: unknown, fallback: number): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : fallback;
}

function nullableNumber(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
