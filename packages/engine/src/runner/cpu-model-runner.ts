import { invariant, type ModelRunnerOutput, type SchedulerOutput } from '@vllm-ts/core';
import { CpuModel, type CpuKernel } from '../cpu/cpu-model.js';
import { PagedKVCache } from '../cpu/paged-kv-cache.js';
import type { ModelWeights } from '../loader/model-weights.js';
import type { ModelConfig } from '../model/model-config.js';
import { buildForwardBatch } from './forward-batch-builder.js';
import { HostSampler } from './host-sampler.js';
import { MAX_IN_FLIGHT_STEPS, type KVCacheInitOptions, type ModelRunner } from './model-runner.js';
import { RequestStates } from './request-state.js';
import { RunnerOutputBuilder } from './runner-output-builder.js';

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
  private readonly sampler: HostSampler;
  private readonly states = new RequestStates();
  private kvCache: PagedKVCache | null = null;
  private cpuCache: PagedKVCache | null = null;
  /** Outputs of submitted steps, oldest first: the CPU computes at submit time. */
  private readonly done: ModelRunnerOutput[] = [];

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
    this.sampler = new HostSampler(modelConfig.vocabSize, modelConfig.eosTokenIds, options.seed ?? 0);
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
    const { scheduled, forks } = this.states.applySchedulerOutput(so);
    // vLLM V0 worker order: swap in, swap out, then copy-on-write copies.
    if (so.kvCacheOps.swapIn.length > 0) cache.copyBlocksFrom(this.cpuCache, so.kvCacheOps.swapIn);
    if (so.kvCacheOps.swapOut.length > 0) this.cpuCache.copyBlocksFrom(cache, so.kvCacheOps.swapOut);
    if (so.kvCacheOps.copy.length > 0) cache.copyBlocksFrom(cache, so.kvCacheOps.copy);

    const out = new RunnerOutputBuilder();
    if (scheduled.length > 0) {
      const plan = buildForwardBatch(scheduled, cache.blockSize);
      const logits = this.model.forward(plan.batch, cache);
      this.sampler.sampleAll(plan.requests, forks, logits, out);
    } else {
      invariant(forks.length === 0, 'forked requests need their parent scheduled in the same step');
    }
    return out.build();
  }

  /**
   * Computes the step now and keeps its output for {@link collect}: on the CPU there is nothing to
   * overlap, but the engine core's batch queue runs unchanged over this runner.
   * @param so what to compute
   */
  submit(so: SchedulerOutput): void {
    invariant(this.done.length < MAX_IN_FLIGHT_STEPS, () => `at most ${MAX_IN_FLIGHT_STEPS} steps may be in flight`);
    this.done.push(this.execute(so));
  }

  /** @returns the oldest submitted step's output */
  collect(): ModelRunnerOutput {
    const out = this.done.shift();
    invariant(out, 'collect() needs a submitted step');
    return out;
  }

  close(): void {
    this.done.length = 0;
    this.kvCache = null;
    this.cpuCache = null;
  }

  /** Number of requests whose state the runner holds (finished ones are dropped). */
  get numRequests(): number {
    return this.states.size;
  }
}
