import { VllmError } from '@vllm-ts/core';
import type { SamplingParams, SamplingParamsInit, SchedulerStats } from '@vllm-ts/core';
import type { Tokenizer } from '@vllm-ts/tokenizer';
import type { EngineArgs } from './config/engine-args.js';
import type { ResolvedEngineConfig } from './config/resolved-engine-config.js';
import { createFrontend, type CreatedFrontend } from './frontend/create-frontend.js';
import { defaultFrontendDeps } from './frontend/default-frontend-deps.js';
import type { EngineFrontend } from './frontend/engine-frontend.js';
import { OutputCollector } from './output/output-collector.js';
import type { IterationStats, OutputKind, PromptInput, RequestOutput } from './output/request-output.js';
import type { GenerationDefaults } from './sample/generation-defaults.js';
import { checkTokenIdsInVocab } from './sample/vocab-check.js';

/** Options of {@link AsyncLLM.generate}. */
export interface GenerateOptions {
  /** Lower runs first under the `priority` scheduling policy. Default 0. */
  readonly priority?: number;
  /** Default `cumulative`; the server streams with `delta` and answers whole responses with `final`. */
  readonly outputKind?: OutputKind;
  /** Aborting it aborts the request (the generator then ends after a last output with finish reason `abort`). */
  readonly signal?: AbortSignal;
}

/**
 * The streaming engine the server uses, as vLLM's `AsyncLLM`: each `generate()` is an async
 * iterator of outputs; one background loop moves engine-core outputs (from the worker thread with
 * V1, from steps run in this thread with V0) through the output processor to the iterators.
 *
 * @example
 * ```ts
 * const llm = await AsyncLLM.create({ model: '/models/tiny' });
 * for await (const out of llm.generate('Hello', new SamplingParams({ maxTokens: 16 }), 'req-1', { outputKind: 'delta' })) {
 *   process.stdout.write(out.outputs[0]?.text ?? '');
 * }
 * await llm.close();
 * ```
 */
export class AsyncLLM {
  /** The resolved configuration (model, maxModelLen, vocabSize, blocks, ...). */
  readonly config: ResolvedEngineConfig;
  /** The model's tokenizer. */
  readonly tokenizer: Tokenizer;
  private readonly frontend: EngineFrontend;
  private readonly generationDefaults: GenerationDefaults;
  private readonly collectors = new Map<string, OutputCollector>();
  private loop: Promise<void> | null = null;
  private closing = false;
  private closed = false;

  private constructor(created: CreatedFrontend<Tokenizer>) {
    ({ frontend: this.frontend, tokenizer: this.tokenizer, config: this.config, generationDefaults: this.generationDefaults } = created);
  }

  /**
   * Loads the model and starts the engine.
   * @param args engine options (absent: the bundled default model, V1)
   * @throws InvalidArgumentError `invalid_option`; VllmError `model_not_found`, `unsupported_model`, `model_load_failed`
   */
  static async create(args?: EngineArgs): Promise<AsyncLLM> {
    return new AsyncLLM(await createFrontend(args, defaultFrontendDeps));
  }

  /**
   * The request defaults from the generation config (vLLM's `get_diff_sampling_param()`), their
   * source and the max-tokens cap; the server applies them to the fields a request leaves unset.
   * @returns frozen defaults
   */
  getGenerationDefaults(): GenerationDefaults {
    return this.generationDefaults;
  }

  /** True once created and until `close()` is called. */
  get isReady(): boolean {
    return !this.closing;
  }

  /** True once `close()` finished. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Submits a request and yields its outputs until it finishes. Breaking out of the loop, or
   * aborting `options.signal`, aborts the request.
   *
   * @param prompt text or token ids
   * @param params sampling settings
   * @param requestId unique among live requests
   * @param options priority, output kind, abort signal
   * @throws VllmError `engine_closed`, `invalid_prompt`, `prompt_too_long`, `duplicate_request_id`, `engine_dead`;
   *   InvalidArgumentError `invalid_sampling_params` (on the first iteration)
   */
  async *generate(
    prompt: PromptInput,
    params: SamplingParams | SamplingParamsInit | undefined,
    requestId: string,
    options: GenerateOptions = {},
  ): AsyncGenerator<RequestOutput, void, undefined> {
    if (this.closing) throw new VllmError('engine_closed', '[engine] the engine is shutting down or closed');
    const { signal } = options;
    if (signal?.aborted) return;
    this.frontend.addRequest(requestId, prompt, checkTokenIdsInVocab(params, this.config.vocabSize), 'cumulative', options);
    const collector = new OutputCollector(options.outputKind ?? 'cumulative');
    this.collectors.set(requestId, collector);
    const onAbort = (): void => void this.abort(requestId);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.ensureLoop();
    let finished = false;
    try {
      for (;;) {
        const out = await collector.next();
        if (out instanceof Error) throw out;
        finished = out.finished;
        yield out;
        if (finished) return;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.collectors.delete(requestId);
      if (!finished) this.frontend.abort([requestId]);
    }
  }

  /**
   * Aborts requests (unknown ids are ignored); their generators end with a last output whose
   * finish reason is `abort`, and their blocks return to the pool within one step.
   * @param requestId one id or several
   */
  async abort(requestId: string | readonly string[]): Promise<void> {
    for (const out of this.frontend.abort(typeof requestId === 'string' ? [requestId] : requestId)) {
      this.collectors.get(out.requestId)?.put(out);
    }
  }

  /** The scheduler's stats as of the last step. */
  getSchedulerStats(): SchedulerStats {
    const stats = this.frontend.getSchedulerStats();
    if (stats === null) throw new VllmError('engine_dead', '[engine] no scheduler stats: the engine core is not running');
    return stats;
  }

  /**
   * Subscribes to per-step stats.
   * @param listener called after every engine step
   * @returns unsubscribe
   */
  onStats(listener: (s: IterationStats) => void): () => void {
    return this.frontend.onStats(listener);
  }

  /** Drops the prefix cache; false while requests hold blocks. */
  resetPrefixCache(): Promise<boolean> {
    return this.frontend.client.resetPrefixCache();
  }

  /**
   * Stops accepting requests, lets in-flight ones finish for up to `drainTimeoutMs` (default 0),
   * aborts the rest and releases the model. Idempotent.
   * @param options drain timeout in milliseconds
   */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const drain = options.drainTimeoutMs ?? 0;
    if (drain > 0 && this.loop !== null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, drain)))]);
      clearTimeout(timer);
    }
    await this.abort(this.frontend.liveRequestIds());
    await this.frontend.client.shutdown();
    await this.loop;
    this.closed = true;
  }

  /** Starts the output loop unless it runs: it lives while any request does. */
  private ensureLoop(): void {
    if (this.loop !== null) return;
    this.loop = this.runLoop().finally(() => (this.loop = null));
  }

  private async runLoop(): Promise<void> {
    try {
      while (this.frontend.numUnfinishedRequests > 0) {
        const batch = await this.frontend.client.getOutputs();
        if (batch === null) break;
        for (const out of this.frontend.processBatch(batch)) this.collectors.get(out.requestId)?.put(out);
      }
    } catch (error) {
      for (const out of this.frontend.failAll()) this.collectors.get(out.requestId)?.put(out);
      for (const c of this.collectors.values()) c.put(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
