import type { ServerTokenizer, ChatTemplateMessage } from './engine-types.js';
import { ApiError } from './errors.js';
import type { ChatMessageInput, CompletionRequest } from './request-schemas.js';

/** A tokenized prompt: its ids, and its text when the client sent text (null for token ids). */
export interface TokenizedPrompt {
  readonly text: string | null;
  readonly tokenIds: number[];
}

/**
 * The prompts of a completion request, tokenized with special tokens added (as vLLM does for
 * completions). A string, strings, token ids or lists of token ids are all accepted.
 *
 * @param prompt the request's `prompt` field (already shape-checked)
 * @param tokenizer the model's tokenizer
 * @returns one entry per prompt
 * @throws ApiError (`invalid_prompt`) for an empty prompt or a token id outside the vocabulary
 */
export function tokenizeCompletionPrompts(
  prompt: CompletionRequest['prompt'],
  tokenizer: ServerTokenizer,
): TokenizedPrompt[] {
  const list: (string | number[])[] =
    typeof prompt === 'string' ? [prompt] : typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as (string | number[])[]);
  return list.map((p, i) => {
    const param = list.length === 1 && typeof prompt === 'string' ? 'prompt' : `prompt[${i}]`;
    if (typeof p === 'string') {
      const tokenIds = tokenizer.encode(p, { addSpecialTokens: true });
      if (tokenIds.length === 0) throw new ApiError('invalid_prompt', `${param} is empty: a prompt needs at least one token`, param);
      return { text: p, tokenIds };
    }
    checkTokenIds(p, tokenizer.vocabSize, list.length === 1 && typeof prompt[0] === 'number' ? 'prompt' : param);
    return { text: null, tokenIds: [...p] };
  });
}

/**
 * Throws when a token id is outside `[0, vocabSize)`.
 * @param ids the ids
 * @param vocabSize the tokenizer's vocabulary size
 * @param param the request field they came from
 * @throws ApiError (`invalid_prompt`)
 */
export function checkTokenIds(ids: readonly number[], vocabSize: number, param: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id >= vocabSize) {
      throw new ApiError(
        'invalid_prompt',
        `${param}[${i}] must be a token id in [0, ${vocabSize - 1}] (got ${id}): it is outside the model's vocabulary`,
        `${param}[${i}]`,
      );
    }
  }
}

/** Options of {@link renderChat}. */
export interface RenderChatOptions {
  readonly addGenerationPrompt?: boolean | null;
  readonly continueFinalMessage?: boolean | null;
  readonly tools?: readonly unknown[] | null;
  readonly chatTemplateKwargs?: Record<string, unknown> | null;
}

/**
 * Renders chat messages with the model's chat template and tokenizes the result without adding
 * special tokens (the template writes them), as vLLM does.
 *
 * @param messages the request's messages (already shape-checked)
 * @param tokenizer the model's tokenizer
 * @param options template switches
 * @returns the rendered prompt and its ids
 * @throws ApiError (`invalid_request`, `unsupported_parameter`, `chat_template_error`)
 */
export function renderChat(
  messages: readonly ChatMessageInput[],
  tokenizer: ServerTokenizer,
  options: RenderChatOptions = {},
): TokenizedPrompt {
  const continueFinal = options.continueFinalMessage ?? false;
  const addGenerationPrompt = options.addGenerationPrompt ?? !continueFinal;
  if (continueFinal && addGenerationPrompt) {
    throw new ApiError(
      'invalid_request',
      'continue_final_message and add_generation_prompt cannot both be true',
      'continue_final_message',
    );
  }
  const last = messages[messages.length - 1]!;
  if (continueFinal && last.role !== 'assistant') {
    throw new ApiError(
      'invalid_request',
      `continue_final_message needs the last message to be from the assistant (got role "${last.role}")`,
      `messages[${messages.length - 1}].role`,
    );
  }
  const templateMessages = messages.map((m, i) => toTemplateMessage(m, i));
  // A request may set template variables but not swap the template itself.
  const { chatTemplate: _t, chat_template: _u, ...kwargs } = options.chatTemplateKwargs ?? {};
  let text: string;
  try {
    text = tokenizer.applyChatTemplate(templateMessages, {
      ...kwargs,
      addGenerationPrompt,
      ...(options.tools ? { tools: options.tools } : {}),
    });
  } catch (e) {
    throw new ApiError('chat_template_error', `The chat template failed on these messages: ${(e as Error).message}`, 'messages');
  }
  if (continueFinal) {
    // The template closes the final message; cut right after its content so generation continues it.
    const content = templateMessages[templateMessages.length - 1]!.content ?? '';
    const at = text.lastIndexOf(content);
    if (content !== '' && at >= 0) text = text.slice(0, at + content.length);
  }
  const tokenIds = tokenizer.encode(text, { addSpecialTokens: false });
  if (tokenIds.length === 0) throw new ApiError('invalid_prompt', 'The rendered chat prompt is empty', 'messages');
  return { text, tokenIds };
}

function toTemplateMessage(m: ChatMessageInput, i: number): ChatTemplateMessage {
  let content: string | null;
  // vLLM renders a missing assistant content (a message that only calls tools) as "".
  if (m.content == null) content = m.role === 'assistant' ? '' : null;
  else if (typeof m.content === 'string') content = m.content;
  else {
    const texts = m.content.map((part, j) => {
      if ((part.type === 'text' || part.type === 'input_text') && typeof part.text === 'string') return part.text;
      throw new ApiError(
        'unsupported_parameter',
        `messages[${i}].content[${j}].type must be "text" with a string "text" field (got type ${JSON.stringify(part.type)}): this server serves text-only models`,
        `messages[${i}].content[${j}].type`,
      );
    });
    content = texts.join('\n');
  }
  if (content === null && m.role !== 'assistant') {
    throw new ApiError('invalid_request', `messages[${i}].content must be a string or content parts for role "${m.role}" (got null)`, `messages[${i}].content`);
  }
  const out: Record<string, unknown> = { role: m.role, content };
  if (m.name != null) out.name = m.name;
  if (m.tool_calls != null) out.tool_calls = m.tool_calls.map((call, j) => withParsedArguments(call, `messages[${i}].tool_calls[${j}]`));
  if (m.tool_call_id != null) out.tool_call_id = m.tool_call_id;
  return out as ChatTemplateMessage;
}

/**
 * An assistant tool call with its `arguments` as an object, as chat templates expect (OpenAI sends
 * them as a JSON string); empty or missing arguments become `{}`, as in vLLM.
 */
function withParsedArguments(call: unknown, param: string): unknown {
  if (typeof call !== 'object' || call === null) return call;
  const fn = (call as { function?: unknown }).function;
  if (typeof fn !== 'object' || fn === null) return call;
  const args = (fn as { arguments?: unknown }).arguments;
  if (typeof args === 'object' && args !== null) return call;
  let parsed: unknown = {};
  if (typeof args === 'string' && args !== '') {
    try {
      parsed = JSON.parse(args);
    } catch {
      throw new ApiError('invalid_request', `${param}.function.arguments must be a JSON string (got ${JSON.stringify(args.slice(0, 80))})`, `${param}.function.arguments`);
    }
  }
  return { ...call, function: { ...fn, arguments: parsed } };
}
