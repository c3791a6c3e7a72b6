import type { SamplingParams } from '@vllm-ts/core';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { GenerationDefaults, ServerEngine } from './engine-types.js';
import { ApiError } from './errors.js';
import { TokenTextCache } from './logprobs-format.js';
import type { ToolParser } from './tool-parsers/tool-parser.js';
import type { VllmMetrics } from './vllm-metrics.js';

const NO_DEFAULTS: GenerationDefaults = Object.freeze({ source: 'vllm', params: Object.freeze({}), maxTokensCap: null });

/** Where the server is in its life: generation is served only while `ready`. */
export type ServerState = 'loading' | 'ready' | 'draining' | 'closed' | 'failed';

/** What the routes share: the engine once loaded, the served names, limits and metrics. */
export class ServerContext {
  state: ServerState = 'loading';
  #engine: ServerEngine | null = null;
  #tokens: TokenTextCache | null = null;
  /** The engine's generation-config request defaults (none until attached). */
  generationDefaults: GenerationDefaults = NO_DEFAULTS;
  /** Generation responses not yet ended (counted from {@link ServerContext.abortOnDisconnect}). */
  inFlight = 0;

  /**
   * @param servedModelNames names clients may put in `model` (the first is reported); empty = the engine's
   * @param maxLogprobs most logprobs a request may ask for
   * @param metrics the Prometheus metrics
   * @param log the server's logger
   * @param flags behaviour switches
   * @param autoToolParser the parser `tool_choice: "auto"` uses (`--enable-auto-tool-choice --tool-call-parser`), or null
   */
  constructor(
    public servedModelNames: readonly string[],
    readonly maxLogprobs: number,
    readonly metrics: VllmMetrics,
    readonly log: FastifyBaseLogger,
    readonly flags: {
      readonly disableLogRequests: boolean;
      readonly enablePromptTokensDetails: boolean;
      readonly enableForceIncludeUsage: boolean;
    },
    readonly autoToolParser: ToolParser | null = null,
  ) {}

  /**
   * Makes `engine` the one the routes use and marks the server ready.
   * @param engine a loaded engine
   */
  attach(engine: ServerEngine): void {
    this.#engine = engine;
    this.#tokens = new TokenTextCache(engine.tokenizer);
    this.generationDefaults = engine.getGenerationDefaults?.() ?? NO_DEFAULTS;
    this.logGenerationDefaults();
    if (this.servedModelNames.length === 0) this.servedModelNames = [engine.config.servedModelName];
    this.metrics.attach(engine, this.servedModelNames[0]!);
    if (this.state === 'loading') this.state = 'ready';
  }

  /** The model's vocabulary size (the engine's, else its tokenizer's), or null before attach. */
  get vocabSize(): number | null {
    const engine = this.#engine;
    return engine === null ? null : (engine.config.vocabSize ?? engine.tokenizer.vocabSize);
  }

  /** vLLM's start-up lines naming the request defaults taken from a generation config. */
  private logGenerationDefaults(): void {
    const { source, params } = this.generationDefaults;
    if (Object.keys(params).length === 0) return;
    this.log.warn(
      "Default sampling parameters have been overridden by the model's Hugging Face generation config recommended from the model creator. If this is not intended, please relaunch with `--generation-config vllm`.",
    );
    const snake = JSON.stringify(Object.fromEntries(Object.entries(params).map(([k, v]) => [k === 'maxTokens' ? 'max_tokens' : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v])));
    this.log.info(`Using default chat sampling params from ${source}: ${snake}`);
    this.log.info(`Using default completion sampling params from ${source}: ${snake}`);
  }

  /** The engine, or null before it is attached. */
  get engineOrNull(): ServerEngine | null {
    return this.#engine;
  }

  /** Id-to-text for logprobs (valid once ready). */
  get tokens(): TokenTextCache {
    if (this.#tokens === null) throw this.unavailable();
    return this.#tokens;
  }

  /**
   * The engine, for a request naming `model`.
   * @param model the request's `model` field
   * @returns the engine and the model name to report
   * @throws ApiError 503 unless ready; 404 for a model this server does not serve
   */
  acquire(model: string | null | undefined): { engine: ServerEngine; modelName: string } {
    if (this.state !== 'ready' || this.#engine === null) throw this.unavailable();
    if (model != null && model !== '' && !this.servedModelNames.includes(model)) {
      throw new ApiError(
        'model_not_found',
        `The model \`${model}\` does not exist. This server serves ${this.servedModelNames.map((m) => `\`${m}\``).join(', ')}.`,
        'model',
      );
    }
    return { engine: this.#engine, modelName: model || this.servedModelNames[0]! };
  }

  /**
   * The per-request log line (unless `--disable-log-requests`).
   * @param requestId the response id
   * @param numPromptTokens prompt tokens over all prompts
   * @param params the request's sampling settings
   */
  logRequest(requestId: string, numPromptTokens: number, params: SamplingParams): void {
    if (!this.flags.disableLogRequests) this.log.info({ requestId, numPromptTokens, params: params.toJSON() }, 'received request');
  }

  /** The 503 error for the current state. */
  unavailable(): ApiError {
    if (this.state === 'loading') return new ApiError('engine_loading', 'The model is still loading; retry shortly');
    if (this.state === 'failed') return new ApiError('engine_closed', 'The engine failed to start');
    return new ApiError('shutting_down', 'The server is shutting down and accepts no new requests');
  }

  /**
   * An abort signal that fires when the client goes away before the response is complete; the
   * response counts as in flight until it closes.
   * @param reply the request's reply
   * @returns the controller (abort it to end the engine requests)
   */
  abortOnDisconnect(reply: FastifyReply): AbortController {
    const controller = new AbortController();
    this.inFlight++;
    reply.raw.on('close', () => {
      this.inFlight--;
      if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
    });
    return controller;
  }
}
