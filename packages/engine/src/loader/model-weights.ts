import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../model/model-config.js';
import { ModelLoadError } from '../model/model-error.js';
import { RandomGenerator } from '../sample/random-generator.js';
import { SafetensorsFile, type TensorInfo } from './safetensors.js';
import { roundToDtype } from './tensor-dtype.js';

/** One decoder layer's weights, float32, projections fused so each reads its input once. */
export interface LayerWeights {
  readonly inputNorm: Float32Array;
  /** q, k and v projections stacked: `[(numHeads + 2 * numKvHeads) * headDim, hiddenSize]`. */
  readonly qkv: Float32Array;
  readonly qkvBias: Float32Array | null;
  /** Qwen3 per-head norms, `[headDim]` each. */
  readonly qNorm: Float32Array | null;
  readonly kNorm: Float32Array | null;
  /** `[hiddenSize, numHeads * headDim]`. */
  readonly o: Float32Array;
  readonly oBias: Float32Array | null;
  readonly postNorm: Float32Array;
  /** gate and up projections stacked: `[2 * intermediateSize, hiddenSize]`. */
  readonly gateUp: Float32Array;
  readonly gateUpBias: Float32Array | null;
  /** `[hiddenSize, intermediateSize]`. */
  readonly down: Float32Array;
  readonly downBias: Float32Array | null;
}

/** All weights of a Llama-family decoder, float32, row-major as `nn.Linear` stores them (`[out, in]`). */
export interface ModelWeights {
  /** `[vocabSize, hiddenSize]`. */
  readonly embed: Float32Array;
  readonly layers: readonly LayerWeights[];
  readonly norm: Float32Array;
  /** `[vocabSize, hiddenSize]`; the same array as `embed` when tied. */
  readonly lmHead: Float32Array;
}

/** How to obtain weights: from the folder's safetensors, or random (`dummy`). */
export interface LoadWeightsOptions {
  readonly loadFormat?: 'auto' | 'safetensors' | 'dummy';
  /** Seed of `dummy` weights. */
  readonly seed?: number;
  /** Called after each tensor with bytes read so far and bytes in total. */
  readonly onLoadProgress?: (loadedBytes: number, totalBytes: number) => void;
}

interface TensorSource {
  readonly shape: readonly number[];
  readonly bytes: number;
  read(): Float32Array;
}

/**
 * Loads (or, with `loadFormat: 'dummy'`, generates) the weights of `config` from a model folder
 * holding `model.safetensors` or a sharded `model.safetensors.index.json`. Weights are rounded to
 * `config.dtype` so the CPU sees the values a device with that dtype would.
 *
 * @param dir the model folder
 * @param config the model's resolved configuration
 * @param options load format, dummy seed, progress callback
 * @returns float32 weights
 * @throws ModelLoadError (`model_load_failed`) when files are missing, a tensor is absent or its shape differs from the config
 */
export function loadModelWeights(dir: string, config: ModelConfig, options: LoadWeightsOptions = {}): ModelWeights {
  if (options.loadFormat === 'dummy') return dummyWeights(config, options.seed ?? 0);
  const files = openSafetensors(dir);
  try {
    const sources = new Map<string, TensorSource>();
    for (const file of files) {
      for (const info of file.header.tensors.values()) sources.set(info.name, fileSource(file, info));
    }
    return assemble(config, sources, options.onLoadProgress);
  } finally {
    for (const f of files) f.close();
  }
}

/** A checkpoint's tensors, checked against the config and still open for reading. */
export interface CheckpointTensors {
  /** Every tensor of the checkpoint: its file and header entry. */
  readonly tensors: ReadonlyMap<string, { readonly file: SafetensorsFile; readonly info: TensorInfo }>;
  /** Bytes of the tensors the config needs. */
  readonly totalBytes: number;
  /** Closes the files. Idempotent. */
  close(): void;
}

/**
 * Opens a model folder's safetensors files and checks that every tensor the config needs is there
 * with its shape, reading no data: for loaders that stream tensors one at a time.
 * @param dir the model folder
 * @param config the model's resolved configuration
 * @returns the open tensors
 * @throws ModelLoadError (`model_load_failed`) as {@link loadModelWeights}
 */
export function openCheckpoint(dir: string, config: ModelConfig): CheckpointTensors {
  const files = openSafetensors(dir);
  const close = () => {
    for (const f of files) f.close();
  };
  try {
    const tensors = new Map<string, { file: SafetensorsFile; info: TensorInfo }>();
    for (const file of files) for (const info of file.header.tensors.values()) tensors.set(info.name, { file, info });
    const expected = checkTensors(config, new Map([...tensors].map(([n, t]) => [n, t.info])));
    const totalBytes = expected.reduce((a, [n]) => a + tensors.get(n)!.info.end - tensors.get(n)!.info.begin, 0);
    return { tensors, totalBytes, close };
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * Random weights of the configured shape (vLLM's `--load-format dummy`): projections and
 * embeddings uniform in ±1/sqrt(fan-in), norms 1, so activations stay in a realistic range.
 *
 * @param config the model shape
 * @param seed seed of the values
 * @returns float32 weights
 */
export function dummyWeights(config: ModelConfig, seed: number): ModelWeights {
  const rng = new RandomGenerator(seed);
  const sources = new Map<string, TensorSource>();
  for (const [name, shape] of expectedTensors(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    sources.set(name, {
      shape,
      bytes: size * 4,
      read() {
        const out = new Float32Array(size);
        if (name.endsWith('norm.weight')) out.fill(1);
        else {
          const bound = 1 / Math.sqrt(shape[shape.length - 1]!);
          for (let i = 0; i < size; i++) out[i] = (rng.nextDouble() * 2 - 1) * bound;
        }
        return out;
      },
    });
  }
  return assemble(config, sources);
}

function openSafetensors(dir: string): SafetensorsFile[] {
  const index = join(dir, 'model.safetensors.index.json');
  let names: string[];
  if (existsSync(index)) {
    let parsed: { weight_map?: Record<string, string> };
    try {
      parsed = JSON.parse(readFileSync(index, 'utf8'));
    } catch (cause) {
      throw new ModelLoadError('model_load_failed', `${index} is not valid JSON`, { cause });
    }
    if (typeof parsed.weight_map !== 'object' || parsed.weight_map === null) {
      throw new ModelLoadError('model_load_failed', `${index} has no "weight_map" object`);
    }
    names = [...new Set(Object.values(parsed.weight_map))].sort();
  } else if (existsSync(join(dir, 'model.safetensors'))) {
    names = ['model.safetensors'];
  } else {
    names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort() : [];
    if (names.length === 0) {
      throw new ModelLoadError('model_load_failed', `no model.safetensors or model.safetensors.index.json in ${dir}`);
    }
  }
  const files: SafetensorsFile[] = [];
  try {
    for (const n of names) files.push(SafetensorsFile.open(join(dir, n)));
  } catch (e) {
    for (const f of files) f.close();
    throw e;
  }
  return files;
}

function fileSource(file: SafetensorsFile, info: TensorInfo): TensorSource {
  return { shape: info.shape, bytes: info.end - info.begin, read: () => file.readFloat32(info.name) };
}

/** Tensor names and shapes a checkpoint of `config` holds (lm_head only when untied). */
function expectedTensors(config: ModelConfig): [string, number[]][] {
  const { hiddenSize: h, intermediateSize: inter, numHeads, numKvHeads, headDim, vocabSize } = config;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [vocabSize, h]], ['model.norm.weight', [h]]];
  if (!config.tieWordEmbeddings) out.push(['lm_head.weight', [vocabSize, h]]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      [`${p}input_layernorm.weight`, [h]],
      [`${p}post_attention_layernorm.weight`, [h]],
      [`${p}self_attn.q_proj.weight`, [numHeads * headDim, h]],
      [`${p}self_attn.k_proj.weight`, [numKvHeads * headDim, h]],
      [`${p}self_attn.v_proj.weight`, [numKvHeads * headDim, h]],
      [`${p}self_attn.o_proj.weight`, [h, numHeads * headDim]],
      [`${p}mlp.gate_proj.weight`, [inter, h]],
      [`${p}mlp.up_proj.weight`, [inter, h]],
      [`${p}mlp.down_proj.weight`, [h, inter]],
    );
    if (config.attentionBias) {
      out.push(
        [`${p}self_attn.q_proj.bias`, [numHeads * headDim]],
        [`${p}self_attn.k_proj.bias`, [numKvHeads * headDim]],
        [`${p}self_attn.v_proj.bias`, [numKvHeads * headDim]],
      );
    }
    if (config.mlpBias) {
      out.push([`${p}mlp.gate_proj.bias`, [inter]], [`${p}mlp.up_proj.bias`, [inter]], [`${p}mlp.down_proj.bias`, [h]]);
    }
    if (config.qkNorm) out.push([`${p}self_attn.q_norm.weight`, [headDim]], [`${p}self_attn.k_norm.weight`, [headDim]]);
  }
  return out;
}

/** Throws unless every tensor `config` needs is present with its shape. @returns the needed tensors */
function checkTensors(config: ModelConfig, sources: ReadonlyMap<string, { readonly shape: readonly number[] }>): [string, number[]][] {
  const expected = expectedTensors(config);
  for (const [name, shape] of expected) {
    const src = sources.get(name);
    if (!src) throw new ModelLoadError('model_load_failed', `checkpoint has no tensor "${name}" (required by ${config.architecture})`);
    if (src.shape.length !== shape.length || src.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError(
        'model_load_failed',
        `tensor "${name}" has shape [${src.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
  }
  return expected;
}

function assemble(
  config: ModelConfig,
  sources: ReadonlyMap<string, TensorSource>,
  onProgress?: (loaded: number, total: number) => void,
): ModelWeights {
  const expected = checkTensors(config, sources);
  const total = expected.reduce((a, [n]) => a + sources.get(n)!.bytes, 0);
  let loaded = 0;
  const get = (name: string): Float32Array => {
    const data = sources.get(name)!.read();
    roundToDtype(data, config.dtype);
    loaded += sources.get(name)!.bytes;
    onProgress?.(loaded, total);
    return data;
  };
  const opt = (name: string, wanted: boolean): Float32Array | null => (wanted ? get(name) : null);
  const concat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };

  const embed = get('model.embed_tokens.weight');
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const a = `${p}self_attn.`;
    const m = `${p}mlp.`;
    const bias = config.attentionBias;
    layers.push({
      inputNorm: get(`${p}input_layernorm.weight`),
      qkv: concat([get(`${a}q_proj.weight`), get(`${a}k_proj.weight`), get(`${a}v_proj.weight`)]),
      qkvBias: bias ? concat([get(`${a}q_proj.bias`), get(`${a}k_proj.bias`), get(`${a}v_proj.bias`)]) : null,
      qNorm: opt(`${a}q_norm.weight`, config.qkNorm),
      kNorm: opt(`${a}k_norm.weight`, config.qkNorm),
      o: get(`${a}o_proj.weight`),
      oBias: null,
      postNorm: get(`${p}post_attention_layernorm.weight`),
      gateUp: concat([get(`${m}gate_proj.weight`), get(`${m}up_proj.weight`)]),
      gateUpBias: config.mlpBias ? concat([get(`${m}gate_proj.bias`), get(`${m}up_proj.bias`)]) : null,
      down: get(`${m}down_proj.weight`),
      downBias: opt(`${m}down_proj.bias`, config.mlpBias),
    });
  }
  const norm = get('model.norm.weight');
  const lmHead = config.tieWordEmbeddings ? embed : get('lm_head.weight');
  return { embed, layers, norm, lmHead };
}
