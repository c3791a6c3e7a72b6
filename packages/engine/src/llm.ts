import { InvalidArgumentError, invariant } from '@vllm-ts/core';
import type { SamplingParams, SamplingParamsInit } from '@vllm-ts/core';
import type { ChatMessage, Tokenizer } from '@vllm-ts/tokenizer';
import type { EngineArgs } from './config/engine-args.js';
import type { ResolvedEngineConfig } from './config/resolved-engine-config.js';
import { LLMEngine } from './llm-engine.js';
import { defaultSamplingParams } from './sample/generation-defaults.js';
import type { PromptInput, RequestOutput } from './output/request-output.js';

/** Options of {@link LLM.chat}. */
export interface ChatOptions {
  /** End the rendered prompt with the assistant's turn header. Default true. */
  readonly addGenerationPrompt?: boolean;
  /** Extra variables for the chat template (e.g. `enable_thinking`). */
  readonly chatTemplateKwargs?: Readonly<Record<string, unknown>>;
}

/**
 * Offline batches, as vLLM's `LLM`: submit every prompt at once, run the engine until all finish,
 * return the outputs in prompt order.
 *
 * @example
 * ```ts
 * const llm = await LLM.create({ model: '/path/to/hf-model-dir' });
 * const [out] = await llm.generate('Hello, my name is', new SamplingParams({ temperature: 0, maxTokens: 24 }));
 * console.log(out.outputs[0].text);
 * await llm.close();
 * ```
 */
export class LLM {
  private readonly engine: LLMEngine;
  private nextId = 0;
  private defaults: SamplingParams | null = null;

  private constructor(engine: LLMEngine) {
    this.engine = engine;
  }

  /**
   * Loads the model and starts the engine.
   * @param args engine options (absent: the bundled default model, V1)
   * @throws InvalidArgumentError `invalid_option`; VllmError `model_not_found`, `unsupported_model`, `model_load_failed`
   */
  static async create(args?: EngineArgs): Promise<LLM> {
    return new LLM(await LLMEngine.create(args));
  }

  /** The model's tokenizer. */
  get tokenizer(): Tokenizer {
    return this.engine.tokenizer;
  }

  /** The resolved configuration. */
  get config(): ResolvedEngineConfig {
    return this.engine.config;
  }

  /**
   * The settings `generate` and `chat` use when given none (vLLM's `get_default_sampling_params()`):
   * the model's generation-config defaults (see `EngineArgs.generationConfig`) over SamplingParams' own.
   * @returns validated settings
   */
  getDefaultSamplingParams(): SamplingParams {
    return (this.defaults ??= defaultSamplingParams(this.engine.getGenerationDefaults()));
  }

  /** The underlying stepping engine (stats, prefix-cache reset). */
  get llmEngine(): LLMEngine {
    return this.engine;
  }

  /**
   * Generates completions for one prompt or a batch.
   *
   * @param prompts one prompt or several (text, `{ prompt }` or `{ promptTokenIds }`)
   * @param params one setting for all, or one per prompt; absent: {@link LLM.getDefaultSamplingParams}
   * @returns one final output per prompt, in prompt order
   * @throws VllmError `invalid_prompt`, `prompt_too_long`, `engine_closed`; InvalidArgumentError
   *   `invalid_sampling_params` (nothing of the batch runs then)
   */
  async generate(
    prompts: PromptInput | readonly PromptInput[],
    params?: SamplingParams | SamplingParamsInit | readonly (SamplingParams | SamplingParamsInit)[],
  ): Promise<RequestOutput[]> {
    const list: readonly PromptInput[] = Array.isArray(prompts) ? prompts : [prompts as PromptInput];
    params ??= this.getDefaultSamplingParams();
    if (Array.isArray(params) && params.length !== list.length) {
      throw new InvalidArgumentError('invalid_sampling_params', 'LLM.generate', 'params', `one entry per prompt (${list.length})`, `${params.length} entries`);
    }
    const ids: string[] = [];
    try {
      list.forEach((prompt, i) => {
        const id = String(this.nextId++);
        const p = Array.isArray(params) ? (params as readonly (SamplingParams | SamplingParamsInit)[])[i] : (params as SamplingParams | SamplingParamsInit | undefined);
        this.engine.addRequest(id, prompt, p, { outputKind: 'final' });
        ids.push(id);
      });
    } catch (error) {
      this.engine.abortRequest(ids);
      throw error;
    }
    const done = new Map<string, RequestOutput>();
    while (done.size < ids.length && this.engine.hasUnfinishedRequests()) {
      for (const out of await this.engine.step()) if (out.finished) done.set(out.requestId, out);
    }
    return ids.map((id) => {
      const out = done.get(id);
      invariant(out !== undefined, `request ${id} of an LLM.generate batch ended without a final output`);
      return out;
    });
  }

  /**
   * Renders conversations with the model's chat template and generates the assistant's replies.
   *
   * @param messages one conversation or several
   * @param params sampling settings for all
   * @param options generation prompt, extra template variables
   * @returns one final output per conversation, in order
   * @throws TokenizerError when the model has no chat template; as {@link LLM.generate} otherwise
   */
  async chat(
    messages: readonly ChatMessage[] | readonly (readonly ChatMessage[])[],
    params?: SamplingParams | SamplingParamsInit,
    options: ChatOptions = {},
  ): Promise<RequestOutput[]> {
    const conversations = (messages.length > 0 && Array.isArray(messages[0]) ? messages : [messages]) as readonly (readonly ChatMessage[])[];
    const prompts = conversations.map((conv) => {
      const text = this.tokenizer.applyChatTemplate(conv, { ...options.chatTemplateKwargs, addGenerationPrompt: options.addGenerationPrompt ?? true });
      // NOTE: the template writes the special tokens itself; encoding must not add a second BOS.
      return { promptTokenIds: this.tokenizer.encode(text, { addSpecialTokens: false }), text };
    });
    const outs = await this.generate(
      prompts.map((p) => ({ promptTokenIds: p.promptTokenIds })),
      params,
    );
    return outs.map((o, i) => ({ ...o, prompt: prompts[i]!.text }));
  }

  /** Releases the model. Idempotent. */
  close(): Promise<void> {
    return this.engine.close();
  }
}
