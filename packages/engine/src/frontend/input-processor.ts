import { InvalidArgumentError, SamplingParams, VllmError, describeValue, resolveSamplingParams } from '@vllm-ts/core';
import type { SamplingParamsData, SamplingParamsInit } from '@vllm-ts/core';
import type { PromptInput } from '../output/request-output.js';

/** The tokenizer calls the input processor makes. */
export interface PromptEncoder {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

/** Model facts the input processor checks prompts and settings against. */
export interface InputLimits {
  readonly maxModelLen: number;
  readonly vocabSize: number;
  /** The tokenizer's EOS id (null: the model has none). */
  readonly eosTokenId: number | null;
  /** generation_config.json's EOS ids besides `eosTokenId`: they stop generation unless `ignoreEos`. */
  readonly extraEosTokenIds: readonly number[];
}

/** A validated, tokenized prompt with settings resolved against the model. */
export interface ProcessedInput {
  readonly prompt: string | null;
  readonly promptTokenIds: readonly number[];
  /** `maxTokens` filled in (`maxModelLen - prompt length` when absent), extra EOS ids merged into `stopTokenIds`. */
  readonly params: SamplingParamsData;
  /** `maxTokens` as given (null when absent). */
  readonly maxTokensParam: number | null;
}

/** Most logprobs per token a request may ask for (vLLM's `max_logprobs` default). */
export const MAX_LOGPROBS = 20;

/**
 * Validates and tokenizes one prompt and resolves its sampling settings, as vLLM's input processor does.
 *
 * @param prompt text, `{ prompt }` or `{ promptTokenIds }`
 * @param params sampling settings (a {@link SamplingParams}, plain fields, or absent for defaults)
 * @param tokenizer encodes text prompts (special tokens added per the tokenizer's template)
 * @param limits the model's length, vocabulary and EOS ids
 * @returns the tokenized prompt and final settings
 * @throws VllmError `invalid_prompt` for an empty prompt or a token id outside the vocabulary,
 *   `prompt_too_long` (with both numbers) when the prompt exceeds `maxModelLen`;
 *   InvalidArgumentError `invalid_sampling_params` for bad settings
 */
export function processInput(
  prompt: PromptInput,
  params: SamplingParams | SamplingParamsInit | undefined,
  tokenizer: PromptEncoder,
  limits: InputLimits,
): ProcessedInput {
  const data = params instanceof SamplingParams ? params.toJSON() : resolveSamplingParams(params ?? {});
  let text: string | null = null;
  let ids: readonly number[];
  if (typeof prompt === 'string' || (typeof prompt === 'object' && prompt !== null && 'prompt' in prompt)) {
    text = typeof prompt === 'string' ? prompt : prompt.prompt;
    if (typeof text !== 'string') throw new VllmError('invalid_prompt', `prompt must be a string (got ${describeValue(text)})`);
    ids = tokenizer.encode(text, { addSpecialTokens: true });
  } else if (typeof prompt === 'object' && prompt !== null && 'promptTokenIds' in prompt && Array.isArray(prompt.promptTokenIds)) {
    ids = [...prompt.promptTokenIds];
    ids.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= limits.vocabSize) {
        throw new VllmError('invalid_prompt', `promptTokenIds[${i}] must be a token id in [0, ${limits.vocabSize}) (got ${describeValue(t)})`);
      }
    });
  } else {
    throw new VllmError('invalid_prompt', `a prompt must be a string, { prompt: string } or { promptTokenIds: number[] } (got ${describeValue(prompt)})`);
  }
  if (ids.length === 0) throw new VllmError('invalid_prompt', 'the prompt is empty: it must have at least one token');
  if (ids.length > limits.maxModelLen) {
    throw new VllmError(
      'prompt_too_long',
      `the prompt has ${ids.length} tokens, more than the maximum model length of ${limits.maxModelLen}; shorten it or raise maxModelLen`,
    );
  }
  for (const field of ['logprobs', 'promptLogprobs'] as const) {
    const k = data[field];
    if (k !== null && k > MAX_LOGPROBS) {
      throw new InvalidArgumentError('invalid_sampling_params', 'SamplingParams', field, `at most ${MAX_LOGPROBS}`, k);
    }
  }
  const room = limits.maxModelLen - ids.length;
  const maxTokens = data.maxTokens === null ? Math.max(1, room) : data.maxTokens;
  const stopTokenIds = data.ignoreEos
    ? data.stopTokenIds
    : [...data.stopTokenIds, ...limits.extraEosTokenIds.filter((t) => !data.stopTokenIds.includes(t))];
  return {
    prompt: text,
    promptTokenIds: ids,
    params: Object.freeze({ ...data, maxTokens, stopTokenIds: Object.freeze(stopTokenIds) }),
    maxTokensParam: data.maxTokens,
  };
}
