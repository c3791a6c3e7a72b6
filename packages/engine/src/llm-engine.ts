import { VllmError } from '@vllm-ts/core';
import type { SamplingParams, SamplingParamsInit, SchedulerStats } from '@vllm-ts/core';
import type { Tokenizer } from '@vllm-ts/tokenizer';
import type { EngineArgs } from './config/engine-args.js';
import type { ResolvedEngineConfig } from './config/resolved-engine-config.js';
import { createFrontend, type CreatedFrontend } from './frontend/create-frontend.js';
import { defaultFrontendDeps } from './frontend/default-frontend-deps.js';
import type { EngineFrontend } from './frontend/engine-frontend.js';
import type { IterationStats, OutputKind, PromptInput, RequestOutput } from './output/request-output.js';
import type { GenerationDefaults } from './sample/generation-defaults.js';
import { checkTokenIdsInVocab } from './sample/vocab-check.js';

/** Options of {@link LLMEngine.addRequest}. */
export interface LLMEngineRequestOptions {
  /** Lower runs first under the `priority` scheduling policy. Default 0. */
  readonly priority?: number;
  /** Default `cumulative`. */
  readonly outputKind?: OutputKind;
}

/**
 * Synchronous stepping, as vLLM's `LLMEngine`: add requests, call {@link LLMEngine.step} until
 * {@link LLMEngine.hasUnfinishedRequests} is false. With V1 the engine core runs ahead in its worker
 * thread and `step()` returns the next step's outputs; with V0 `step()` runs the step itself.
 *
 * @example
 * ```ts
 * const engine = await LLMEngine.create({ model: '/models/tiny' });
 * engine.addRequest('a', 'Hello', new SamplingParams({ maxTokens: 8 }));
 * while (engine.hasUnfinishedRequests()) for (const out of await engine.step()) if (out.finished) console.log(out.outputs[0].text);
 * await engine.close();
 * ```
 */
export class LLMEngine {
  /** The resolved configuration. */
  readonly config: ResolvedEngineConfig;
  /** The model's tokenizer. */
  readonly tokenizer: Tokenizer;
  private readonly frontend: EngineFrontend;
  private readonly generationDefaults: GenerationDefaults;
  private closed = false;

  private constructor(created: CreatedFrontend<Tokenizer>) {
    ({ frontend: this.frontend, tokenizer: this.tokenizer, config: this.config, generationDefaults: this.generationDefaults } = created);
  }

  /**
   * Loads the model and starts the engine.
   * @param args engine options (absent: the bundled default model, V1)
   * @throws InvalidArgumentError `invalid_option`; VllmError `model_not_found`, `unsupported_model`, `model_load_failed`
   */
  static async create(args?: EngineArgs): Promise<LLMEngine> {
    return new LLMEngine(await createFrontend(args, defaultFrontendDeps));
  }

  /**
   * The request defaults from the generation config (vLLM's `get_diff_sampling_param()`), their
   * source and the max-tokens cap. `addRequest` does not apply them: callers building
   * SamplingParams do (`LLM.generate` without params, the server for unset request fields).
   * @returns frozen defaults
   */
  getGenerationDefaults(): GenerationDefaults {
    return this.generationDefaults;
  }

  /**
   * Validates, tokenizes and queues a request.
   * @param requestId unique among live requests
   * @param prompt text or token ids
   * @param params sampling settings
   * @param options priority, output kind
   * @throws VllmError `engine_closed`, `invalid_prompt`, `prompt_too_long`, `duplicate_request_id`;
   *   InvalidArgumentError `invalid_sampling_params` (also for `logitBias` / `allowedTokenIds` ids outside the vocabulary)
   */
  addRequest(requestId: string, prompt: PromptInput, params?: SamplingParams | SamplingParamsInit, options: LLMEngineRequestOptions = {}): void {
    if (this.closed) throw new VllmError('engine_closed', '[engine] the engine is closed');
    this.frontend.addRequest(requestId, prompt, checkTokenIdsInVocab(params, this.config.vocabSize), 'cumulative', options);
  }

  /**
   * One engine step.
   * @returns outputs of the requests with news (finished ones have `finished: true`)
   * @throws VllmError `engine_dead` when the engine core failed (live requests were failed with `error`)
   */
  async step(): Promise<RequestOutput[]> {
    if (this.frontend.numUnfinishedRequests === 0) return [];
    try {
      const batch = await this.frontend.client.getOutputs();
      return batch === null ? [] : this.frontend.processBatch(batch);
    } catch (error) {
      this.frontend.failAll();
      throw error;
    }
  }

  /**
   * Aborts requests; unknown or finished ids are ignored. Their blocks return to the pool within one step.
   * @param requestId one id or several
   */
  abortRequest(requestId: string | readonly string[]): void {
    this.frontend.abort(typeof requestId === 'string' ? [requestId] : requestId);
  }

  /** True while any request is live. */
  hasUnfinishedRequests(): boolean {
    return this.frontend.numUnfinishedRequests > 0;
  }

  /** Number of live requests. */
  getNumUnfinishedRequests(): number {
    return this.frontend.numUnfinishedRequests;
  }

  /** The scheduler's stats as of the last step. */
  getSchedulerStats(): SchedulerStats | null {
    return this.frontend.getSchedulerStats();
  }

  /**
   * Subscribes to per-step stats.
   * @param listener called after every step
   * @returns unsubscribe
   */
  onStats(listener: (s: IterationStats) => void): () => void {
    return this.frontend.onStats(listener);
  }

  /** Drops the prefix cache; false while requests hold blocks. */
  resetPrefixCache(): Promise<boolean> {
    return this.frontend.client.resetPrefixCache();
  }

  /** Aborts live requests and releases the model. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.frontend.abort([...this.frontend.liveRequestIds()]);
    await this.frontend.client.shutdown();
  }
}
