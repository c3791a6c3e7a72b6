import {
  invariant,
  type ModelRunnerOutput,
  type PromptLogprobsChunk,
  type RequestId,
  type SchedulerOutput,
  type TokenLogprobs,
} from '@vllm-ts/core';
import { CpuModel, type CpuKernel } from '../cpu/cpu-model.js';
import { PagedKVCache } from '../cpu/paged-kv-cache.js';
import type { ModelWeights } from '../loader/model-weights.js';
import type { ModelConfig } from '../model/model-config.js';
import { tokenLogprobs } from '../sample/logprobs.js';
import { RandomGenerator } from '../sample/random-generator.js';
import { Sampler } from '../sample/sampler.js';
import { RejectionSampler } from '../spec-decode/index.js';
import { buildForwardBatch, type ScheduledRequest } from './forward-batch-builder.js';
import type { KVCacheInitOptions, ModelRunner } from './model-runner.js';
import { RequestStates, type RequestState } from './request-state.js';

/** Options of {@link CpuModelRunner}. */
export interface CpuModelRunnerOptions {
  /** Seed of the engine's generator, used by unseeded requests. */
  readonly seed?: number;
  /** Matmul kernel (default `auto`: WebAssembly SIMD when available). */
  readonly kernel?: CpuKernel;
}

/**
 * The CPU model runner: vLLM's `GPUModelRunner` shape over {@link CpuModel}. Each step it applies
 * V0 block moves, updates its request states from the scheduler's diffs, flattens every scheduled
 * token into one batch, runs one forward pass and samples the rows that reach the end of their
 * known tokens (partial prefill chunks sample nothing). Draft tokens are scored in the same pass
 * and verified by the {@link RejectionSampler} (exact for greedy and random sampling).
 */
export class CpuModelRunner implements ModelRunner {
  private readonly model: CpuModel;
  private readonly rejectionSampler: RejectionSampler;
  private readonly states = new RequestStates();
  private readonly engineGenerator: RandomGenerator;
  private kvCache: PagedKVCache | null = null;
  private cpuCache: PagedKVCache | null = null;

  /**
   * @param modelConfig the model's shape
   * @param weights its weights
   * @param options engine seed
   */
  constructor(
    readonly modelConfig: ModelConfig,
    weights: ModelWeights,
    options: CpuModelRunnerOptions = {},
  ) {
    this.model = new CpuModel(modelConfig, weights, { kernel: options.kernel ?? 'auto' });
    this.rejectionSampler = new RejectionSampler(new Sampler(modelConfig.vocabSize, modelConfig.eosTokenIds));
    this.engineGenerator = new RandomGenerator(options.seed ?? 0);
  }

  kvCacheBytesPerBlock(blockSize: number): number {
    const c = this.modelConfig;
    return PagedKVCache.bytesPerBlock({ numLayers: c.numLayers, blockSize, numKvHeads: c.numKvHeads, headDim: c.headDim });
  }

  initializeKVCache(opts: KVCacheInitOptions): void {
    const c = this.modelConfig;
    const shape = { numLayers: c.numLayers, blockSize: opts.blockSize, numKvHeads: c.numKvHeads, headDim: c.headDim };
    this.kvCache = new PagedKVCache({ ...shape, numBlocks: opts.numBlocks });
    this.cpuCache = new PagedKVCache({ ...shape, numBlocks: opts.numCpuBlocks ?? 0 });
  }

  execute(so: SchedulerOutput): ModelRunnerOutput {
    const cache = this.kvCache;
    invariant(cache && this.cpuCache, 'initializeKVCache must be called before execute');
    this.states.remove(so.finishedReqIds);
    this.states.preempt(so.preemptedReqIds);
    // vLLM V0 worker order: swap in, swap out, then copy-on-write copies.
    if (so.kvCacheOps.swapIn.length > 0) cache.copyBlocksFrom(this.cpuCache, so.kvCacheOps.swapIn);
    if (so.kvCacheOps.swapOut.length > 0) this.cpuCache.copyBlocksFrom(cache, so.kvCacheOps.swapOut);
    if (so.kvCacheOps.copy.length > 0) cache.copyBlocksFrom(cache, so.kvCacheOps.copy);

    const forks: { child: RequestState; parent: RequestId }[] = [];
    for (const req of so.scheduledNewReqs) {
      const state = this.states.addNew(req);
      if (req.forkedFrom !== null) forks.push({ child: state, parent: req.forkedFrom });
    }
    for (const req of so.scheduledCachedReqs) this.states.applyCached(req);

    const scheduled: ScheduledRequest[] = [];
    for (const [id, n] of so.numScheduledTokens) {
      if (n === 0) continue;
      const state = this.states.get(id);
      invariant(!state.preempted, () => `request ${id} is scheduled while preempted`);
      scheduled.push({ state, numScheduledTokens: n, drafts: so.scheduledSpecDecodeTokens.get(id) ?? [] });
    }

    const sampledTokenIds = new Map<RequestId, readonly number[]>();
    const logprobs = new Map<RequestId, readonly TokenLogprobs[]>();
    const promptLogprobs = new Map<RequestId, PromptLogprobsChunk>();
    const lastRowOf = new Map<RequestId, number>();
    if (scheduled.length > 0) {
      const plan = buildForwardBatch(scheduled, cache.blockSize);
      const logits = this.model.forward(plan.batch, cache);
      const V = this.modelConfig.vocabSize;
      for (const r of plan.requests) {
        const state = r.state;
        if (r.promptRows.length > 0) {
          const k = state.params.promptLogprobs!;
          const entries = r.promptRows.map((row, i) => tokenLogprobs(logits, row * V, V, state.tokens[r.promptStart + i]!, k));
          promptLogprobs.set(state.reqId, { start: r.promptStart, entries });
        }
        if (r.sampleRows.length === 0) {
          sampledTokenIds.set(state.reqId, []);
          continue;
        }
        const { tokens, logprobList } = this.sampleRequest(state, logits, r.sampleRows, r.drafts);
        sampledTokenIds.set(state.reqId, tokens);
        if (logprobList) logprobs.set(state.reqId, logprobList);
        lastRowOf.set(state.reqId, r.sampleRows[r.sampleRows.length - 1]!);
        for (const t of tokens) state.tokens.push(t);
      }
      for (const { child, parent } of forks) {
        const row = lastRowOf.get(parent);
        invariant(row !== undefined, () => `forked request ${child.reqId} has no sampled parent ${parent} in this step`);
        const { tokens, logprobList } = this.sampleRequest(child, logits, [row], []);
        sampledTokenIds.set(child.reqId, tokens);
        if (logprobList) logprobs.set(child.reqId, logprobList);
        for (const t of tokens) child.tokens.push(t);
      }
    } else {
      invariant(forks.length === 0, 'forked requests need their parent scheduled in the same step');
    }
    return { sampledTokenIds, logprobs, promptLogprobs };
  }

  close(): void {
    this.kvCache = null;
    this.cpuCache = null;
  }

  /** Number of requests whose state the runner holds (finished ones are dropped). */
  get numRequests(): number {
    return this.states.size;
  }

  /**
   * Samples one token from `rows[0]`, or verifies `drafts` against `rows[0..k]` and returns the
   * accepted prefix plus the correction or bonus token.
   */
  private sampleRequest(
    state: RequestState,
    logits: Float32Array,
    rows: readonly number[],
    drafts: readonly number[],
  ): { tokens: number[]; logprobList: TokenLogprobs[] | null } {
    const V = this.modelConfig.vocabSize;
    const { tokenIds: tokens } = this.rejectionSampler.sample({
      logits,
      rows,
      draftTokenIds: drafts,
      params: state.params,
      promptTokenIds: state.tokens.slice(0, state.numPromptTokens),
      outputTokenIds: state.tokens.slice(state.numPromptTokens),
      generator: state.generator ?? this.engineGenerator,
    });
    const k = state.params.logprobs;
    const logprobList = k === null ? null : tokens.map((t, i) => tokenLogprobs(logits, rows[i]! * V, V, t, k));
    return { tokens, logprobList };
  }
}
