import type { LlamaConfig, LlamaHostWeights, RopeScaling } from '@vllm-ts/cuda';
import type { ModelWeights } from '../loader/model-weights.js';
import type { ModelConfig } from '../model/model-config.js';
import { ModelLoadError } from '../model/model-error.js';

function ropeScaling(config: ModelConfig): RopeScaling {
  const r = config.rope;
  switch (r.type) {
    case 'default':
      return { type: 'default' };
    case 'linear':
      return { type: 'linear', factor: r.factor };
    case 'llama3':
      return {
        type: 'llama3',
        factor: r.factor,
        lowFreqFactor: r.lowFreqFactor,
        highFreqFactor: r.highFreqFactor,
        originalMaxPositionEmbeddings: r.originalMaxPositionEmbeddings,
      };
    case 'yarn':
      return {
        type: 'yarn',
        factor: r.factor,
        originalMaxPositionEmbeddings: r.originalMaxPositionEmbeddings,
        betaFast: r.betaFast,
        betaSlow: r.betaSlow,
        ...(r.mscale === null ? {} : { mscale: r.mscale }),
        ...(r.mscaleAllDim === null ? {} : { mscaleAllDim: r.mscaleAllDim }),
        ...(r.attentionFactor === null ? {} : { attentionFactor: r.attentionFactor }),
      };
    default:
      throw new ModelLoadError('unsupported_model', `device "cuda" does not implement rope type "${r.type}" yet (supported: default, linear, llama3, yarn); use device "cpu"`);
  }
}

/**
 * The CUDA forward pass's view of a model: shape, RoPE and which biases exist.
 * @param config the resolved model config
 * @returns the {@link LlamaConfig}; RoPE positions cover `maxModelLen`
 * @throws ModelLoadError `unsupported_model` for what the CUDA path lacks (partial rotary, dynamic RoPE, MLP biases)
 */
export function toLlamaConfig(config: ModelConfig): LlamaConfig {
  if (config.rope.rotaryDim !== config.headDim) {
    throw new ModelLoadError('unsupported_model', `device "cuda" rotates whole heads only; this model rotates ${config.rope.rotaryDim} of ${config.headDim} dims; use device "cpu"`);
  }
  if (config.mlpBias) throw new ModelLoadError('unsupported_model', 'device "cuda" does not implement MLP biases (mlp_bias: true) yet; use device "cpu"');
  return {
    hiddenSize: config.hiddenSize,
    intermediateSize: config.intermediateSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    rmsNormEps: config.rmsNormEps,
    ropeTheta: config.rope.theta,
    ropeScaling: ropeScaling(config),
    maxPosition: config.maxModelLen,
    qkNorm: config.qkNorm,
    // The loader reads q/k/v biases (Qwen2, `attention_bias`); an o_proj bias is not loaded on any device.
    qkvBias: config.attentionBias,
  };
}

/**
 * Splits the loader's stacked host weights into the per-projection layout {@link LlamaHostWeights}
 * expects (views, no copies).
 * @param config the model config
 * @param weights host weights from the loader
 * @param llama the config from {@link toLlamaConfig}
 * @returns host weights for `LlamaForward.create`
 * @throws ModelLoadError `model_load_failed` when a declared bias is missing
 */
export function toLlamaHostWeights(config: ModelConfig, weights: ModelWeights, llama: LlamaConfig): LlamaHostWeights {
  const H = config.hiddenSize;
  const qRows = config.numHeads * config.headDim;
  const kvRows = config.numKvHeads * config.headDim;
  const layers = weights.layers.map((l, i) => {
    if (llama.qkvBias && !l.qkvBias) {
      throw new ModelLoadError('model_load_failed', `layer ${i}: the config declares attention biases but the checkpoint has none`);
    }
    const qkvBias = l.qkvBias;
    return {
      inputLayernorm: l.inputNorm,
      qProj: l.qkv.subarray(0, qRows * H),
      kProj: l.qkv.subarray(qRows * H, (qRows + kvRows) * H),
      vProj: l.qkv.subarray((qRows + kvRows) * H),
      oProj: l.o,
      postAttentionLayernorm: l.postNorm,
      gateProj: l.gateUp.subarray(0, config.intermediateSize * H),
      upProj: l.gateUp.subarray(config.intermediateSize * H),
      downProj: l.down,
      ...(l.qNorm && l.kNorm ? { qNorm: l.qNorm, kNorm: l.kNorm } : {}),
      ...(llama.qkvBias && qkvBias
        ? { qBias: qkvBias.subarray(0, qRows), kBias: qkvBias.subarray(qRows, qRows + kvRows), vBias: qkvBias.subarray(qRows + kvRows) }
        : {}),
    };
  });
  return {
    embedTokens: weights.embed,
    layers,
    norm: weights.norm,
    ...(config.tieWordEmbeddings ? {} : { lmHead: weights.lmHead }),
  };
}
