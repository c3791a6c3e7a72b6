import Type, { type Static, type TSchema } from 'typebox';

// Every optional field also accepts null (OpenAI clients send it for "unset"). `expected` is the
// wording of the error message when a value does not fit; request-validator.ts reads it.

function optional<T extends TSchema>(schema: T, expected: string) {
  return Type.Optional(Type.Union([schema, Type.Null()], { expected }));
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => Type.Integer({ minimum: min, maximum: max });
const tokenId = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });

const StreamOptions = Type.Object({
  include_usage: optional(Type.Boolean(), 'a boolean'),
  continuous_usage_stats: optional(Type.Boolean(), 'a boolean'),
});

/** Fields both generation endpoints share: the vLLM sampling parameters and the OpenAI ones. */
const samplingFields = {
  model: optional(Type.String(), 'a string (a served model name)'),
  n: optional(int(1, 1024), 'an integer in [1, 1024]'),
  temperature: optional(Type.Number({ minimum: 0 }), 'a number >= 0'),
  top_p: optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), 'a number in (0, 1]'),
  top_k: optional(int(-1), 'an integer >= 1, or 0 or -1 to disable'),
  min_p: optional(Type.Number({ minimum: 0, maximum: 1 }), 'a number in [0, 1]'),
  seed: optional(int(-Number.MAX_SAFE_INTEGER), 'an integer'),
  stop: optional(Type.Union([Type.String(), Type.Array(Type.String())]), 'a string or an array of strings'),
  stop_token_ids: optional(Type.Array(tokenId), 'an array of token ids (integers >= 0)'),
  presence_penalty: optional(Type.Number({ minimum: -2, maximum: 2 }), 'a number in [-2, 2]'),
  frequency_penalty: optional(Type.Number({ minimum: -2, maximum: 2 }), 'a number in [-2, 2]'),
  repetition_penalty: optional(Type.Number({ exclusiveMinimum: 0 }), 'a number > 0'),
  ignore_eos: optional(Type.Boolean(), 'a boolean'),
  min_tokens: optional(int(0), 'an integer >= 0'),
  skip_special_tokens: optional(Type.Boolean(), 'a boolean'),
  include_stop_str_in_output: optional(Type.Boolean(), 'a boolean'),
  prompt_logprobs: optional(int(0), 'an integer >= 0'),
  stream: optional(Type.Boolean(), 'a boolean'),
  stream_options: optional(StreamOptions, 'an object {include_usage?: boolean, continuous_usage_stats?: boolean}'),
  user: optional(Type.String(), 'a string'),
  logit_bias: optional(Type.Record(Type.String(), Type.Number()), 'an object mapping token ids to numbers'),
  allowed_token_ids: optional(Type.Array(tokenId, { minItems: 1 }), 'a non-empty array of token ids (integers >= 0)'),
  priority: optional(Type.Integer(), 'an integer'),
  response_format: optional(Type.Object({ type: Type.String() }), 'an object {type: "text"}'),
  request_id: optional(Type.String({ minLength: 1, maxLength: 256 }), 'a string of 1 to 256 characters'),
};

/** `POST /v1/completions` body (OpenAI's fields plus vLLM's sampling extensions). */
export const CompletionRequestSchema = Type.Object({
  ...samplingFields,
  prompt: Type.Union(
    [
      Type.String(),
      Type.Array(Type.String(), { minItems: 1 }),
      Type.Array(tokenId, { minItems: 1 }),
      Type.Array(Type.Array(tokenId, { minItems: 1 }), { minItems: 1 }),
    ],
    {
      expected:
        'a string, a non-empty array of strings, a non-empty array of token ids, or a non-empty array of such arrays',
    },
  ),
  max_tokens: optional(int(1), 'an integer >= 1'),
  logprobs: optional(int(0), 'an integer >= 0'),
  echo: optional(Type.Boolean(), 'a boolean'),
  suffix: optional(Type.String(), 'a string'),
  best_of: optional(int(1), 'an integer >= 1'),
});

/** The body of `POST /v1/completions`. */
export type CompletionRequest = Static<typeof CompletionRequestSchema>;

const ContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });

const ChatMessage = Type.Object({
  role: Type.Union(
    ['system', 'developer', 'user', 'assistant', 'tool'].map((r) => Type.Literal(r)),
    { expected: 'one of "system", "developer", "user", "assistant", "tool"' },
  ),
  content: optional(
    Type.Union([Type.String(), Type.Array(ContentPart)]),
    'a string, an array of content parts ({type: "text", text}) or null',
  ),
  name: optional(Type.String(), 'a string'),
  tool_calls: optional(Type.Array(Type.Unknown()), 'an array of tool calls'),
  tool_call_id: optional(Type.String(), 'a string'),
});

/** `POST /v1/chat/completions` body (OpenAI's fields plus vLLM's sampling and template extensions). */
export const ChatCompletionRequestSchema = Type.Object({
  ...samplingFields,
  messages: Type.Array(ChatMessage, { minItems: 1, expected: 'a non-empty array of messages' }),
  max_tokens: optional(int(1), 'an integer >= 1'),
  max_completion_tokens: optional(int(1), 'an integer >= 1'),
  logprobs: optional(Type.Boolean(), 'a boolean'),
  top_logprobs: optional(int(0), 'an integer >= 0'),
  tools: optional(Type.Array(Type.Record(Type.String(), Type.Unknown())), 'an array of tool definitions'),
  tool_choice: optional(Type.Unknown(), '"none", "auto", "required" or a named tool'),
  parallel_tool_calls: optional(Type.Boolean(), 'a boolean'),
  add_generation_prompt: optional(Type.Boolean(), 'a boolean'),
  continue_final_message: optional(Type.Boolean(), 'a boolean'),
  chat_template_kwargs: optional(Type.Record(Type.String(), Type.Unknown()), 'an object'),
  echo: optional(Type.Boolean(), 'a boolean'),
});

/** The body of `POST /v1/chat/completions`. */
export type ChatCompletionRequest = Static<typeof ChatCompletionRequestSchema>;

/** `POST /tokenize` body: a prompt, or chat messages rendered with the chat template. */
export const TokenizeRequestSchema = Type.Object({
  model: optional(Type.String(), 'a string (a served model name)'),
  prompt: optional(Type.String(), 'a string'),
  messages: optional(Type.Array(ChatMessage, { minItems: 1 }), 'a non-empty array of messages'),
  add_special_tokens: optional(Type.Boolean(), 'a boolean'),
  add_generation_prompt: optional(Type.Boolean(), 'a boolean'),
  continue_final_message: optional(Type.Boolean(), 'a boolean'),
  chat_template_kwargs: optional(Type.Record(Type.String(), Type.Unknown()), 'an object'),
  tools: optional(Type.Array(Type.Record(Type.String(), Type.Unknown())), 'an array of tool definitions'),
  return_token_strs: optional(Type.Boolean(), 'a boolean'),
});

/** The body of `POST /tokenize`. */
export type TokenizeRequest = Static<typeof TokenizeRequestSchema>;

/** `POST /detokenize` body. */
export const DetokenizeRequestSchema = Type.Object({
  model: optional(Type.String(), 'a string (a served model name)'),
  tokens: Type.Array(tokenId, { expected: 'an array of token ids (integers >= 0)' }),
});

/** The body of `POST /detokenize`. */
export type DetokenizeRequest = Static<typeof DetokenizeRequestSchema>;

/** A chat message as the request carries it. */
export type ChatMessageInput = Static<typeof ChatMessage>;
