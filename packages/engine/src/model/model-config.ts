import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from './model-error.js';
import { parseRopeConfig, type RopeConfig } from './rope-config.js';

/** Architectures this engine runs (the `architectures[0]` of config.json). */
export type SupportedArchitecture = 'LlamaForCausalLM' | 'MistralForCausalLM' | 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM';

/** Every architecture name {@link readModelConfig} accepts. */
export const SUPPORTED_ARCHITECTURES: readonly SupportedArchitecture[] = Object.freeze([
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM',
]);

/** Floating-point formats of weights. */
export type ModelDtype = 'float32' | 'bfloat16' | 'float16';

/** A model's resolved shape and generation settings: everything the runner needs from config.json. */
export interface ModelConfig {
  readonly architecture: SupportedArchitecture;
  /** config.json `model_type` (e.g. `llama`, `qwen3`). */
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Key/value heads (GQA: fewer than `numHeads`; MQA: 1). */
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly rope: RopeConfig;
  readonly maxPositionEmbeddings: number;
  /** Longest sequence (prompt + output) served. */
  readonly maxModelLen: number;
  /** The LM head reuses the embedding matrix. */
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2, Llama with `attention_bias`). */
  readonly attentionBias: boolean;
  readonly mlpBias: boolean;
  /** Per-head RMSNorm of queries and keys before RoPE (Qwen3). */
  readonly qkNorm: boolean;
  readonly bosTokenId: number | null;
  /** config.json's EOS id(s) followed by generation_config.json's extra ones, deduplicated. */
  readonly eosTokenIds: readonly number[];
  /** Weight dtype declared by config.json (`torch_dtype` or `dtype`), or the one asked for. */
  readonly dtype: ModelDtype;
}

/** Overrides applied while resolving a {@link ModelConfig}. */
export interface ModelConfigOverrides {
  /** Serve at most this many tokens per sequence (must not exceed what the model supports). */
  readonly maxModelLen?: number;
  /** `auto` keeps config.json's dtype. */
  readonly dtype?: ModelDtype | 'auto';
}

const DTYPE_NAMES: Record<string, ModelDtype> = {
  float32: 'float32',
  float: 'float32',
  bfloat16: 'bfloat16',
  float16: 'float16',
  half: 'float16',
};

/**
 * Reads `config.json` (and `generation_config.json` when present) of a Hugging Face model folder.
 *
 * @param dir the model folder
 * @param overrides optional `maxModelLen` and `dtype`
 * @returns the resolved configuration
 * @throws ModelLoadError `model_load_failed` when config.json is missing or malformed,
 *   `unsupported_model` (listing the supported architectures) for any other architecture
 */
export function readModelConfig(dir: string, overrides: ModelConfigOverrides = {}): ModelConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ModelLoadError('model_load_failed', `no config.json in ${dir}`);
  const cfg = readJson(path);
  return parseModelConfig(cfg, readGenerationConfig(dir) ?? {}, overrides);
}

/**
 * The parsed `generation_config.json` of a model folder, or null when the folder has none.
 *
 * @param dir the folder
 * @returns the file's object, or null
 * @throws ModelLoadError `model_load_failed` when the file is not a JSON object
 */
export function readGenerationConfig(dir: string): Record<string, unknown> | null {
  const path = join(dir, 'generation_config.json');
  return existsSync(path) ? readJson(path) : null;
}

/**
 * Resolves a {@link ModelConfig} from parsed config.json and generation_config.json objects.
 *
 * @param cfg the parsed config.json
 * @param generationConfig the parsed generation_config.json (`{}` when absent)
 * @param overrides optional `maxModelLen` and `dtype`
 * @returns the resolved configuration
 * @throws ModelLoadError as {@link readModelConfig}
 */
export function parseModelConfig(
  cfg: Record<string, unknown>,
  generationConfig: Record<string, unknown> = {},
  overrides: ModelConfigOverrides = {},
): ModelConfig {
  const archs = cfg.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (!SUPPORTED_ARCHITECTURES.includes(architecture as SupportedArchitecture)) {
    throw new ModelLoadError(
      'unsupported_model',
      `architecture ${JSON.stringify(architecture ?? null)} is not supported; supported architectures: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    );
  }
  const hiddenSize = positiveInt(cfg, 'hidden_size');
  const numHeads = positiveInt(cfg, 'num_attention_heads');
  const numKvHeads = cfg.num_key_value_heads == null ? numHeads : positiveInt(cfg, 'num_key_value_heads');
  if (numHeads % numKvHeads !== 0) {
    fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  const headDim = cfg.head_dim == null ? hiddenSize / numHeads : positiveInt(cfg, 'head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) fail(`head_dim must be an even integer (got ${headDim})`);
  const maxPositionEmbeddings = cfg.max_position_embeddings == null ? 2048 : positiveInt(cfg, 'max_position_embeddings');
  const rope = parseRopeConfig(cfg, headDim, maxPositionEmbeddings);
  const act = cfg.hidden_act ?? cfg.hidden_activation ?? 'silu';
  if (act !== 'silu') fail(`hidden_act must be "silu" (got ${JSON.stringify(act)})`);

  // vLLM: scaled RoPE (except llama3, whose max_position_embeddings is already the long context)
  // extends the usable context by the factor.
  let derivedMaxLen =
    rope.type === 'linear' || rope.type === 'dynamic' || rope.type === 'yarn'
      ? Math.floor((rope.type === 'yarn' ? rope.originalMaxPositionEmbeddings : maxPositionEmbeddings) * rope.factor)
      : maxPositionEmbeddings;
  // Sliding-window attention is not implemented: where a window applies (Mistral v0.1 style
  // configs), serving stops at the window, where full attention and the window still agree.
  const window = cfg.sliding_window;
  if (typeof window === 'number' && window > 0 && cfg.use_sliding_window !== false && window < derivedMaxLen) {
    derivedMaxLen = window;
  }
  let maxModelLen = derivedMaxLen;
  if (overrides.maxModelLen !== undefined) {
    if (!Number.isInteger(overrides.maxModelLen) || overrides.maxModelLen < 1 || overrides.maxModelLen > derivedMaxLen) {
      throw new ModelLoadError(
        'model_load_failed',
        `maxModelLen must be an integer in [1, ${derivedMaxLen}] (the model's context length) (got ${overrides.maxModelLen})`,
      );
    }
    maxModelLen = overrides.maxModelLen;
  }

  const declared = DTYPE_NAMES[String(cfg.torch_dtype ?? cfg.dtype ?? 'float32')] ?? 'float32';
  const dtype = overrides.dtype === undefined || overrides.dtype === 'auto' ? declared : overrides.dtype;
  const eos = [...ids(cfg.eos_token_id), ...ids(generationConfig.eos_token_id)];

  return Object.freeze({
    architecture: architecture as SupportedArchitecture,
    modelType: typeof cfg.model_type === 'string' ? cfg.model_type : architecture!.replace(/ForCausalLM$/, '').toLowerCase(),
    vocabSize: positiveInt(cfg, 'vocab_size'),
    hiddenSize,
    intermediateSize: positiveInt(cfg, 'intermediate_size'),
    numLayers: positiveInt(cfg, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: typeof cfg.rms_norm_eps === 'number' ? cfg.rms_norm_eps : 1e-6,
    rope,
    maxPositionEmbeddings,
    maxModelLen,
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    attentionBias: architecture === 'Qwen2ForCausalLM' || cfg.attention_bias === true,
    mlpBias: cfg.mlp_bias === true,
    qkNorm: architecture === 'Qwen3ForCausalLM',
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: Object.freeze([...new Set(eos)]),
    dtype,
  });
}

function ids(x: unknown): number[] {
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return [x];
  if (Array.isArray(x)) return x.filter((t): t is number => typeof t === 'number' && Number.isInteger(t) && t >= 0);
  return [];
}

function readJson(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ModelLoadError('model_load_failed', `${path} is not valid JSON`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(`${path} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function positiveInt(cfg: Record<string, unknown>, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`config.json ${key} must be a positive integer (got ${JSON.stringify(v)})`);
  return v;
}

function fail(message: string): never {
  throw new ModelLoadError('model_load_failed', message);
}
