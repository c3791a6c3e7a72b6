import type { LlamaConfig, RopeScaling } from '@vllm-ts/cuda';
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
