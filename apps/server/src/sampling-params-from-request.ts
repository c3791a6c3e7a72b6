import { SamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import type { GenerationDefaults } from './engine-types.js';
import { ApiError } from './errors.js';
import type { ChatCompletionRequest, CompletionRequest } from './request-schemas.js';

/** Limits the server applies on top of the engine's own checks. */
export interface SamplingLimits {
  /** Most `logprobs` / `top_logprobs` a request may ask for (vLLM's `--max-logprobs`, 20). */
  readonly maxLogprobs: number;
  /** The engine's generation-config defaults: they fill the sampling fields a request leaves unset. */
  readonly generationDefaults: GenerationDefaults;
  /** The model's vocabulary size, for `logit_bias` and `allowed_token_ids` (null: the engine checks them). */
  readonly vocabSize: number | null;
}

/** OpenAI's (and vLLM's) logit bias range: values outside it are clamped, as vLLM does. */
const LOGIT_BIAS_LIMIT = 100;

/** What decides a request's token budget. */
export interface TokenBudget {
  /** The longest prompt of the request, in tokens. */
  readonly promptTokens: number;
  /** The value the client asked for, or null. */
  readonly requestedMaxTokens: number | null;
  /** Used when the client asked for none (16 for completions, null = all the room left for chat). */
  readonly defaultMaxTokens: number | null;
  /** The request field named in errors (`max_tokens` or `max_completion_tokens`). */
  readonly param: string;
  /** The prompt field named in errors (`prompt` or `messages`). */
  readonly promptParam: string;
  /** Upper bound on the result, explicit requests included (vLLM's `override_max_tokens`); null for none. */
  readonly maxTokensCap?: number | null;
}

/**
 * `max_tokens` for the engine: the client's value when the prompt leaves room for it; otherwise
 * the default, capped by the room left; then capped by `maxTokensCap` (vLLM's `get_max_tokens`). Too long a prompt, or asking for more than the room left,
 * is the client's error (OpenAI's `context_length_exceeded`, with all the numbers).
 *
 * @param budget the prompt size and the requested value
 * @param maxModelLen the model's context length
 * @returns the resolved value (>= 1)
 * @throws ApiError (`context_length_exceeded`)
 */
export function resolveMaxTokens(budget: TokenBudget, maxModelLen: number): number {
  const room = maxModelLen - budget.promptTokens;
  if (room <= 0) {
    throw new ApiError(
      'context_length_exceeded',
      `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${budget.promptTokens} input tokens, which leaves no room to generate. Please reduce the length of the ${budget.promptParam === 'messages' ? 'messages' : 'prompt'}.`,
      budget.promptParam,
    );
  }
  if (budget.requestedMaxTokens !== null) {
    if (budget.requestedMaxTokens > room) {
      throw new ApiError(
        'context_length_exceeded',
        `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${budget.promptTokens + budget.requestedMaxTokens} tokens (${budget.promptTokens} in the ${budget.promptParam === 'messages' ? 'messages' : 'prompt'}, ${budget.requestedMaxTokens} in the completion). Please reduce the length of the ${budget.promptParam === 'messages' ? 'messages' : 'prompt'} or of ${budget.param}.`,
        budget.param,
      );
    }
    return Math.min(budget.requestedMaxTokens, budget.maxTokensCap ?? Infinity);
  }
  return Math.min(budget.defaultMaxTokens ?? room, room, budget.maxTokensCap ?? Infinity);
}

type SharedFields = Pick<
  CompletionRequest & ChatCompletionRequest,
  | 'n'
  | 'temperature'
  | 'top_p'
  | 'top_k'
  | 'min_p'
  | 'seed'
  | 'stop'
  | 'stop_token_ids'
  | 'presence_penalty'
  | 'frequency_penalty'
  | 'repetition_penalty'
  | 'ignore_eos'
  | 'min_tokens'
  | 'skip_special_tokens'
  | 'include_stop_str_in_output'
  | 'prompt_logprobs'
  | 'logit_bias'
  | 'allowed_token_ids'
  | 'response_format'
  | 'stream'
  | 'stream_options'
>;

/**
 * Sampling settings of a generation request. Unset `temperature`, `top_p`, `top_k`, `min_p` and
 * `repetition_penalty` take the generation-config defaults, then vLLM's. `logit_bias` keys are
 * token ids as strings (what `int()` accepts), checked against the vocabulary; values are clamped
 * to [-100, 100], as vLLM does.
 *
 * @param body the request (already shape-checked)
 * @param maxTokens the resolved token budget
 * @param logprobs top log-probabilities per generated token, or null
 * @param limits the server's limits
 * @returns validated sampling params
 * @throws ApiError for unsupported or inconsistent fields; InvalidArgumentError from SamplingParams
 */
export function samplingParamsFromRequest(
  body: SharedFields,
  maxTokens: number,
  logprobs: number | null,
  limits: SamplingLimits,
): SamplingParams {
  rejectUnsupported(body);
  checkLogprobs('logprobs', logprobs, limits.maxLogprobs);
  checkLogprobs('prompt_logprobs', body.prompt_logprobs ?? null, limits.maxLogprobs);
  const defaults = limits.generationDefaults.params;
  const init: Record<string, unknown> = {
    n: body.n,
    temperature: body.temperature ?? defaults.temperature,
    topP: body.top_p ?? defaults.topP,
    topK: body.top_k ?? defaults.topK,
    minP: body.min_p ?? defaults.minP,
    seed: body.seed,
    maxTokens,
    minTokens: body.min_tokens,
    stop: body.stop,
    stopTokenIds: body.stop_token_ids,
    ignoreEos: body.ignore_eos,
    presencePenalty: body.presence_penalty,
    frequencyPenalty: body.frequency_penalty,
    repetitionPenalty: body.repetition_penalty ?? defaults.repetitionPenalty,
    logprobs,
    promptLogprobs: body.prompt_logprobs,
    skipSpecialTokens: body.skip_special_tokens,
    includeStopStrInOutput: body.include_stop_str_in_output,
    logitBias: body.logit_bias == null ? null : logitBias(body.logit_bias, limits.vocabSize),
    allowedTokenIds: body.allowed_token_ids == null ? null : allowedTokenIds(body.allowed_token_ids, limits.vocabSize),
  };
  for (const key of Object.keys(init)) if (init[key] === null || init[key] === undefined) delete init[key];
  if (Array.isArray(init.stop)) {
    const i = (init.stop as string[]).indexOf('');
    if (i >= 0) throw new ApiError('invalid_request', `stop[${i}] must be a non-empty string (got "")`, `stop[${i}]`);
  } else if (init.stop === '') {
    delete init.stop;
  }
  if (typeof init.minTokens === 'number' && init.minTokens > maxTokens) {
    throw new ApiError('invalid_request', `min_tokens must be at most max_tokens (${maxTokens}) (got ${init.minTokens})`, 'min_tokens');
  }
  return new SamplingParams(init as SamplingParamsInit);
}

function checkLogprobs(field: string, value: number | null, max: number): void {
  if (value !== null && value > max) {
    throw new ApiError('invalid_request', `${field} must be an integer in [0, ${max}] (got ${value})`, field);
  }
}

/** `logit_bias` for the engine: integer keys (Python `int()` spellings), ids in the vocabulary, values clamped. */
function logitBias(raw: Readonly<Record<string, number>>, vocabSize: number | null): Map<number, number> | null {
  const out = new Map<number, number>();
  const outside: number[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!/^\s*[+-]?\d+\s*$/.test(key)) {
      throw new ApiError('invalid_request', `logit_bias keys must be token ids: integers, or strings of integers (got ${JSON.stringify(key)})`, 'logit_bias');
    }
    const id = Number(key);
    if (id < 0 || (vocabSize !== null && id >= vocabSize)) outside.push(id);
    out.set(id, Math.min(LOGIT_BIAS_LIMIT, Math.max(-LOGIT_BIAS_LIMIT, value)));
  }
  if (outside.length > 0) {
    throw new ApiError(
      'invalid_request',
      `token_id(s) [${outside.join(', ')}] in logit_bias contain out-of-vocab token ids. Vocabulary size: ${vocabSize ?? 'unknown'}`,
      'logit_bias',
    );
  }
  return out.size === 0 ? null : out;
}

function allowedTokenIds(ids: readonly number[], vocabSize: number | null): readonly number[] {
  const outside = ids.filter((t) => vocabSize !== null && t >= vocabSize);
  if (outside.length > 0) {
    throw new ApiError(
      'invalid_request',
      `token_id(s) [${outside.join(', ')}] in allowed_token_ids contain out-of-vocab token ids. Vocabulary size: ${vocabSize}`,
      'allowed_token_ids',
    );
  }
  return ids;
}

function rejectUnsupported(body: SharedFields): void {
  const format = body.response_format?.type;
  if (format !== undefined && format !== 'text') {
    throw new ApiError(
      'unsupported_parameter',
      `response_format.type must be "text" (got ${JSON.stringify(format)}): structured outputs are not supported`,
      'response_format.type',
    );
  }
  if (body.stream_options != null && body.stream !== true) {
    throw new ApiError('invalid_request', 'stream_options can only be set when stream is true', 'stream_options');
  }
}
