import { VllmError, requestId as toRequestId } from '@vllm-ts/core';
import type { RequestId, SamplingParams, SamplingParamsInit, SchedulerStats } from '@vllm-ts/core';
import type { EngineSettings } from '../config/engine-args.js';
import { nowSeconds } from '../core/clock.js';
import type { EngineCoreClient } from '../core/engine-core-client.js';
import type { EngineCoreOutputs } from '../core/engine-core-outputs.js';
import { OutputProcessor } from '../output/output-processor.js';
import type { IterationStats, OutputKind, PromptInput, RequestOutput } from '../output/request-output.js';
import type { DetokenizerFactory } from '../output/sequence-state.js';
import { processInput } from './input-processor.js';
import type { InputLimits, PromptEncoder } from './input-processor.js';

/** Options of one request. */
export interface AddRequestOptions {
  /** Lower runs first under the `priority` policy. Default 0. */
  readonly priority?: number;
  /** Default: the front end's. */
  readonly outputKind?: OutputKind;
}

/**
 * The front-end half shared by `LLMEngine` and `AsyncLLM`: input processing, the output processor,
 * stop-string aborts, metrics listeners, and the engine-core client (in-process or worker).
 */
export class EngineFrontend {
  readonly settings: EngineSettings;
  readonly client: EngineCoreClient;
  private readonly encoder: PromptEncoder;
  private readonly limits: InputLimits;
  private readonly processor: OutputProcessor;
  private readonly statsListeners = new Set<(s: IterationStats) => void>();
  private lastStats: SchedulerStats | null = null;

  /**
   * @param settings validated engine settings
   * @param client the engine core's client (ready)
   * @param encoder tokenizes text prompts
   * @param createDetokenizer a streaming detokenizer per sequence
   * @param limits the model's length, vocabulary and EOS ids
   */
  constructor(settings: EngineSettings, client: EngineCoreClient, encoder: PromptEncoder, createDetokenizer: DetokenizerFactory, limits: InputLimits) {
    this.settings = settings;
    this.client = client;
    this.encoder = encoder;
    this.limits = limits;
    this.processor = new OutputProcessor(createDetokenizer);
  }

  /** Requests still producing output. */
  get numUnfinishedRequests(): number {
    return this.processor.numUnfinishedRequests;
  }

  /**
   * True when the id is live.
   * @param requestId the caller's id
   */
  has(requestId: string): boolean {
    return this.processor.has(requestId);
  }

  /**
   * Validates, tokenizes and submits a request.
   * @param requestId unique among live requests
   * @param prompt text or token ids
   * @param params sampling settings
   * @param defaultKind output kind when the options give none
   * @param options priority, output kind
   * @throws VllmError `invalid_prompt`, `prompt_too_long`, `duplicate_request_id`; InvalidArgumentError `invalid_sampling_params`
   */
  addRequest(
    requestId: string,
    prompt: PromptInput,
    params: SamplingParams | SamplingParamsInit | undefined,
    defaultKind: OutputKind,
    options: AddRequestOptions = {},
  ): void {
    if (typeof requestId !== 'string' || requestId.length === 0) {
      throw new VllmError('invalid_prompt', `a request id must be a non-empty string (got ${JSON.stringify(requestId)})`);
    }
    const arrivalTime = nowSeconds();
    const input = processInput(prompt, params, this.encoder, this.limits);
    const children = this.processor.addRequest({
      requestId,
      prompt: input.prompt,
      promptTokenIds: input.promptTokenIds,
      params: input.params,
      outputKind: options.outputKind ?? defaultKind,
      arrivalTime,
      maxTokensParam: input.maxTokensParam,
    });
    const base = {
      promptTokenIds: input.promptTokenIds,
      eosTokenId: this.limits.eosTokenId,
      arrivalTime,
      priority: options.priority ?? 0,
    };
    // NOTE: V1 fans n > 1 out into independent children here; the V0 scheduler forks them itself.
    if (this.settings.engineVersion === 'v0' || children.length === 1) {
      this.client.addRequest({ ...base, reqId: toRequestId(requestId), samplingParams: input.params });
    } else {
      for (const c of children) this.client.addRequest({ ...base, reqId: c.reqId, samplingParams: c.params });
    }
  }

  /**
   * Aborts requests (unknown ids are ignored) and frees their blocks in the engine core.
   * @param requestIds the callers' ids
   * @returns each aborted request's final output (finish reason `abort`)
   */
  abort(requestIds: Iterable<string>): RequestOutput[] {
    const ids = [...requestIds];
    const { reqIds, outputs } = this.processor.finishRequests(ids, 'abort');
    const engineIds: RequestId[] = this.settings.engineVersion === 'v0' ? [...reqIds, ...ids.map(toRequestId)] : reqIds;
    this.client.abortRequests([...new Set(engineIds)]);
    return outputs;
  }

  /**
   * Fails every live request with finish reason `error` (the engine core died).
   * @returns their final outputs
   */
  failAll(): RequestOutput[] {
    return this.processor.finishRequests(this.liveRequestIds(), 'error').outputs;
  }

  /**
   * Applies one engine step: request outputs, stop-string aborts, stats listeners.
   * @param batch the step's outputs
   */
  processBatch(batch: EngineCoreOutputs): RequestOutput[] {
    const processed = this.processor.processOutputs(batch);
    if (processed.reqsToAbort.length > 0) this.client.abortRequests(processed.reqsToAbort);
    this.lastStats = batch.schedulerStats;
    for (const listener of this.statsListeners) listener(processed.iterationStats);
    return processed.requestOutputs;
  }

  /** The scheduler's stats as of the last step. */
  getSchedulerStats(): SchedulerStats | null {
    return this.lastStats ?? this.client.lastStats();
  }

  /**
   * Subscribes to per-step stats.
   * @param listener called after every engine step
   * @returns unsubscribe
   */
  onStats(listener: (s: IterationStats) => void): () => void {
    this.statsListeners.add(listener);
    return () => this.statsListeners.delete(listener);
  }

  /** Ids of the live requests. */
  liveRequestIds(): string[] {
    return [...this.processor.liveRequestIds()];
  }
}
