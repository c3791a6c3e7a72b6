import type { HostData, LlamaConfig, LlamaHostWeights, LlamaLayerWeights } from '@vllm-ts/cuda';
import { openCheckpoint } from '../loader/model-weights.js';
import { roundToDtype } from '../loader/tensor-dtype.js';
import type { ModelConfig } from '../model/model-config.js';

/** Host weights that read their tensors when `LlamaForward.create` asks for them. */
export interface StreamedHostWeights {
  readonly weights: LlamaHostWeights;
  /** Closes the checkpoint's files (after the upload, or to abandon it). Idempotent. */
  close(): void;
}

/**
 * The checkpoint of a model folder as {@link LlamaHostWeights} whose fields read their tensor on
 * access, so the upload to the GPU holds one projection group (q/k/v, gate/up) on the host at a
 * time instead of the whole model in float32. Tensors stored in the model dtype (BF16 for
 * bfloat16, F16 for float16) are passed as raw bits; others are converted to float32 and rounded to
 * the model dtype, the values the CPU loader gives.
 * @param dir the model folder
 * @param config the resolved model config
 * @param llama its CUDA view (which biases exist)
 * @param onProgress called after each tensor read, with bytes read and the total
 * @returns the lazy weights and the close of their files
 * @throws ModelLoadError (`model_load_failed`) when a tensor is missing or misshapen (checked before any read)
 */
export function streamLlamaHostWeights(
  dir: string,
  config: ModelConfig,
  llama: LlamaConfig,
  onProgress?: (loadedBytes: number, totalBytes: number) => void,
): StreamedHostWeights {
  const ckpt = openCheckpoint(dir, config);
  const raw = config.dtype === 'bfloat16' ? 'BF16' : config.dtype === 'float16' ? 'F16' : null;
  let loaded = 0;
  const isRaw = (name: string) => ckpt.tensors.get(name)!.info.dtype === raw;
  const read = (name: string, asRaw: boolean): HostData => {
    const { file, info } = ckpt.tensors.get(name)!;
    let data: HostData;
    if (asRaw) data = file.readRaw16(name);
    else {
      const f = file.readFloat32(name);
      roundToDtype(f, config.dtype);
      data = f;
    }
    loaded += info.end - info.begin;
    onProgress?.(loaded, ckpt.totalBytes);
    return data;
  };
  /** Tensors concatenated by LlamaForward must all be raw or all float. */
  const group = (names: readonly string[]): (() => HostData)[] => {
    const asRaw = names.every(isRaw);
    return names.map((n) => () => read(n, asRaw));
  };
  const lazy = <T extends object>(getters: Record<string, () => HostData>): T => {
    const out = {};
    for (const [key, get] of Object.entries(getters)) Object.defineProperty(out, key, { get, enumerable: true });
    return out as T;
  };
  const layers = Array.from({ length: config.numLayers }, (_, l): LlamaLayerWeights => {
    const p = `model.layers.${l}.`;
    const a = `${p}self_attn.`;
    const m = `${p}mlp.`;
    const [q, k, v] = group([`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`]);
    const [gate, up] = group([`${m}gate_proj.weight`, `${m}up_proj.weight`]);
    const single = (name: string) => () => read(name, isRaw(name));
    const getters: Record<string, () => HostData> = {
      inputLayernorm: single(`${p}input_layernorm.weight`),
      qProj: q!,
      kProj: k!,
      vProj: v!,
      oProj: single(`${a}o_proj.weight`),
      postAttentionLayernorm: single(`${p}post_attention_layernorm.weight`),
      gateProj: gate!,
      upProj: up!,
      downProj: single(`${m}down_proj.weight`),
    };
    if (config.qkNorm) {
      getters.qNorm = single(`${a}q_norm.weight`);
      getters.kNorm = single(`${a}k_norm.weight`);
    }
    if (llama.qkvBias) {
      const [qb, kb, vb] = group([`${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`]);
      Object.assign(getters, { qBias: qb!, kBias: kb!, vBias: vb! });
    }
    return lazy<LlamaLayerWeights>(getters);
  });
  const top: Record<string, () => HostData> = {
    embedTokens: () => read('model.embed_tokens.weight', isRaw('model.embed_tokens.weight')),
    norm: () => read('model.norm.weight', isRaw('model.norm.weight')),
  };
  if (!config.tieWordEmbeddings) top.lmHead = () => read('lm_head.weight', isRaw('lm_head.weight'));
  const weights = lazy<LlamaHostWeights & object>(top);
  Object.defineProperty(weights, 'layers', { value: layers, enumerable: true });
  return { weights, close: ckpt.close };
}
