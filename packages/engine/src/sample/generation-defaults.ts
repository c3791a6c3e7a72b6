import { InvalidArgumentError, SamplingParams, VllmError, resolveSamplingParams } from '@vllm-ts/core';
import { readGenerationConfig } from '../model/model-config.js';
import { ModelLoadError } from '../model/model-error.js';

/**
 * The sampling defaults a generation config sets (vLLM's `get_diff_sampling_param()`, camelCase):
 * only the fields it sets are present; a request leaving a field unset takes this value.
 */
export interface DiffSamplingParams {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  /** From `max_new_tokens`. */
  readonly maxTokens?: number;
}

/** Where an engine's request defaults come from and what they are. */
export interface GenerationDefaults {
  /** `model` (the model folder's generation_config.json, `generationConfig: 'auto'`), `vllm`, or the folder given. */
  readonly source: string;
  /** Defaults of requests that leave these fields unset; `{}` when none apply. */
  readonly params: DiffSamplingParams;
  /**
   * Cap on every request's max tokens, explicit ones included (vLLM's `override_max_tokens`):
   * `max_new_tokens` of `overrideGenerationConfig`, or of the folder given as `generationConfig`; else null.
   */
  readonly maxTokensCap: number | null;
}

/** generation_config.json keys vLLM turns into sampling defaults, with their SamplingParams names. */
const FIELDS = [
  ['repetition_penalty', 'repetitionPenalty'],
  ['temperature', 'temperature'],
  ['top_k', 'topK'],
  ['top_p', 'topP'],
  ['min_p', 'minP'],
  ['max_new_tokens', 'maxTokens'],
] as const;

/**
 * Hugging Face `GenerationConfig()` defaults of those keys: vLLM reads the file through
 * `to_diff_dict()`, so a value equal to the Hugging Face default is as good as absent.
 */
const HF_DEFAULTS: Readonly<Record<string, unknown>> = { repetition_penalty: 1, temperature: 1, top_k: 50, top_p: 1 };

/**
 * The request defaults of a model, as vLLM's `ModelConfig.get_diff_sampling_param()` computes them:
 * the generation config (`auto`: the model folder's `generation_config.json`; a folder: that
 * folder's; `vllm`: none) without the values equal to Hugging Face's defaults, updated with
 * `override`; then its `repetition_penalty`, `temperature`, `top_k`, `top_p`, `min_p` and
 * `max_new_tokens` (as `maxTokens`), where not null.
 *
 * @param generationConfig `auto`, `vllm` or a folder
 * @param override keys that replace the generation config's (snake_case, as in the file)
 * @param modelDir the model folder (read with `auto`)
 * @returns the defaults, their source and the max-tokens cap
 * @throws ModelLoadError `model_load_failed` when the file is not JSON or a value is not a valid sampling setting;
 *   InvalidArgumentError `invalid_option` when an override value is not
 */
export function resolveGenerationDefaults(
  generationConfig: string,
  override: Readonly<Record<string, unknown>>,
  modelDir: string,
): GenerationDefaults {
  const fromFile = generationConfig === 'vllm' ? null : readGenerationConfig(generationConfig === 'auto' ? modelDir : generationConfig);
  const source = generationConfig === 'auto' ? 'model' : generationConfig;
  const file = fileDefaults(fromFile ?? {}, source);
  const overrides = pick(override, (key, value) => {
    throw new InvalidArgumentError('invalid_option', 'EngineArgs', `overrideGenerationConfig.${key}`, expectedOf(key), value);
  });
  const params = Object.freeze({ ...file, ...overrides });
  const capSource = generationConfig === 'auto' || generationConfig === 'vllm' ? overrides : params;
  return Object.freeze({ source, params, maxTokensCap: capSource.maxTokens ?? null });
}

/**
 * The sampling settings of a request that sets nothing (vLLM's `LLM.get_default_sampling_params()`):
 * the generation defaults over SamplingParams' own.
 * @param defaults the engine's generation defaults
 * @returns validated settings
 */
export function defaultSamplingParams(defaults: GenerationDefaults): SamplingParams {
  return new SamplingParams(defaults.params);
}

function fileDefaults(config: Record<string, unknown>, source: string): DiffSamplingParams {
  const diff = Object.fromEntries(Object.entries(config).filter(([k, v]) => !(k in HF_DEFAULTS) || HF_DEFAULTS[k] !== v));
  return pick(diff, (key, value) => {
    throw new ModelLoadError('model_load_failed', `the generation config (${source}) sets ${key} to ${JSON.stringify(value)}; expected ${expectedOf(key)}`);
  });
}

/** The known keys of `config` that are not null, renamed and checked as SamplingParams fields. */
function pick(config: Readonly<Record<string, unknown>>, fail: (key: string, value: unknown) => never): DiffSamplingParams {
  const out: Record<string, unknown> = {};
  for (const [key, field] of FIELDS) {
    const value = config[key];
    if (value === null || value === undefined) continue;
    try {
      resolveSamplingParams({ [field]: value, ...(field === 'maxTokens' ? {} : { maxTokens: null }) });
    } catch (error) {
      if (!VllmError.isInstance(error)) throw error;
      fail(key, value);
    }
    out[field] = field === 'topK' && value === -1 ? 0 : value;
  }
  return out;
}

function expectedOf(key: string): string {
  switch (key) {
    case 'temperature':
      return 'a finite number >= 0';
    case 'top_p':
      return 'a number in (0, 1]';
    case 'top_k':
      return 'an integer >= 1, or 0 or -1 to disable';
    case 'min_p':
      return 'a number in [0, 1]';
    case 'repetition_penalty':
      return 'a finite number > 0';
    default:
      return 'an integer >= 1';
  }
}
