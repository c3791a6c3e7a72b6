import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.js';

/** One message of a conversation; templates read `role`, `content` and model-specific keys such as `tool_calls`. */
export interface ChatMessage {
  readonly role: string;
  readonly content?: unknown;
  readonly [key: string]: unknown;
}

/** Options of `Tokenizer.applyChatTemplate`; keys other than the named ones become template variables. */
export interface ChatTemplateOptions {
  /** End with the header that opens the assistant's turn (`add_generation_prompt`). Default false. */
  readonly addGenerationPrompt?: boolean;
  /** Tool (function) definitions, JSON-schema style, passed as `tools`. */
  readonly tools?: readonly unknown[];
  /** Name of one of the config's named templates, or a template string to use instead. */
  readonly chatTemplate?: string;
  /** Extra variables, e.g. `enable_thinking: false` for Qwen3. */
  readonly [variable: string]: unknown;
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];
function contentOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Record<string, unknown>).content === 'string') return (value as Record<string, string>).content!;
  return null;
}

/** The chat templates of a `tokenizer_config.json` and the special-token variables HF passes to them. */
export class ChatTemplates {
  private readonly named = new Map<string, string>();
  private readonly compiled = new Map<string, Template>();
  private readonly specials: Record<string, string> = {};

  /** @param config the parsed `tokenizer_config.json`, or null */
  constructor(config: Record<string, any> | null) {
    const raw = config?.chat_template;
    if (typeof raw === 'string') this.named.set('default', raw);
    else if (Array.isArray(raw)) for (const t of raw as { name: string; template: string }[]) this.named.set(t.name, t.template);
    for (const key of SPECIAL_KEYS) {
      const v = contentOf(config?.[key]);
      if (v !== null) this.specials[key] = v;
    }
    const extra = config?.additional_special_tokens;
    if (Array.isArray(extra)) this.specials.additional_special_tokens = extra.map(contentOf).filter((x) => x !== null) as unknown as string;
  }

  private pick(options: ChatTemplateOptions): string {
    const wanted = options.chatTemplate;
    if (wanted !== undefined) {
      const t = this.named.get(wanted);
      if (t !== undefined) return t;
      if (wanted.includes('{')) return wanted;
      throw new TokenizerError('chat_template_missing', `no chat template named ${JSON.stringify(wanted)}; expected one of ${[...this.named.keys()].join(', ') || '(none)'}`);
    }
    if (options.tools !== undefined && this.named.has('tool_use')) return this.named.get('tool_use')!;
    const t = this.named.get('default');
    if (t === undefined) {
      throw new TokenizerError(
        'chat_template_missing',
        this.named.size === 0
          ? 'this tokenizer has no chat template (tokenizer_config.json has no chat_template); pass options.chatTemplate'
          : `no default chat template; pass options.chatTemplate, one of ${[...this.named.keys()].join(', ')}`,
      );
    }
    return t;
  }

  /**
   * Renders `messages` with the selected template, with transformers' variables: `messages`,
   * `add_generation_prompt`, `tools`, the special tokens and extra options (`raise_exception` and
   * `strftime_now` come with `@huggingface/jinja`).
   * @throws {TokenizerError} `chat_template_missing` or `chat_template_failed`
   */
  render(messages: readonly unknown[], options: ChatTemplateOptions): string {
    const source = this.pick(options);
    let template = this.compiled.get(source);
    if (template === undefined) {
      try {
        template = new Template(source);
      } catch (error) {
        throw new TokenizerError('chat_template_failed', `the chat template does not parse: ${(error as Error).message}`, error);
      }
      this.compiled.set(source, template);
    }
    const { addGenerationPrompt, tools, chatTemplate: _chosen, ...extra } = options;
    const context: Record<string, unknown> = {
      ...this.specials,
      ...extra,
      messages,
      add_generation_prompt: addGenerationPrompt === true,
    };
    if (tools !== undefined) context.tools = tools;
    try {
      return template.render(context);
    } catch (error) {
      throw new TokenizerError('chat_template_failed', `the chat template failed to render: ${(error as Error).message}`, error);
    }
  }
}
