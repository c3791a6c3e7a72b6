import { SamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { ApiError } from './errors.js';
import type { ChatCompletionRequest, CompletionRequest } from './request-schemas.js';

/** Limits the server applies on top of the engine's own checks. */
export interface SamplingLimits {
  /** Most `logprobs` / `top_logprobs` a request may ask for (vLLM's `--max-logprobs`, 20). */
  readonly maxLogprobs: number;
}

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
}

/**
 * `max_tokens` for the engine: the client's value when the prompt leaves room for it; otherwise
 * the default, capped by the room left. Too long a prompt, or asking for more than the room left,
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
    return budget.requestedMaxTokens;
  }
  return budget.defaultMaxTokens === null ? room : Math.min(budget.defaultMaxTokens, room);
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
  | 'response_format'
  | 'stream'
  | 'stream_options'
>;

/**
 * Sampling settings of a generation request (null fields take vLLM's defaults).
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
  const init: Record<string, unknown> = {
    n: body.n,
    temperature: body.temperature,
    topP: body.top_p,
    topK: body.top_k,
    minP: body.min_p,
    seed: body.seed,
    maxTokens,
    minTokens: body.min_tokens,
    stop: body.stop,
    stopTokenIds: body.stop_token_ids,
    ignoreEos: body.ignore_eos,
    presencePenalty: body.presence_penalty,
    frequencyPenalty: body.frequency_penalty,
    repetitionPenalty: body.repetition_penalty,
    logprobs,
    promptLogprobs: body.prompt_logprobs,
    skipSpecialTokens: body.skip_special_tokens,
    includeStopStrInOutput: body.include_stop_str_in_output,
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

function rejectUnsupported(body: SharedFields): void {
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) {
    throw new ApiError('unsupported_parameter', 'logit_bias is not supported by this server; leave it out or empty', 'logit_bias');
  }
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
