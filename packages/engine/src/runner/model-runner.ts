import type { ModelRunnerOutput, SchedulerOutput } from '@vllm-ts/core';
import { loadModelWeights } from '../loader/model-weights.js';
import { resolveModelPath } from '../loader/hub-resolver.js';
import { readModelConfig, type ModelConfig, type ModelDtype } from '../model/model-config.js';
import { ModelLoadError } from '../model/model-error.js';
import { cudaUnavailableReason, isCudaAvailable } from '@vllm-ts/cuda';
import { CpuModelRunner } from './cpu-model-runner.js';
import { toLlamaConfig } from './cuda-llama-config.js';
import { streamLlamaHostWeights } from './cuda-host-weights.js';
import { CudaModelRunner } from './cuda-model-runner.js';

/** Sizes of the KV caches a runner allocates. */
export interface KVCacheInitOptions {
  /** Device (here: main-memory) blocks the scheduler hands out. */
  readonly numBlocks: number;
  readonly blockSize: number;
  /** CPU swap-space blocks (V0 `swapSpace`); 0 or absent: none. */
  readonly numCpuBlocks?: number;
  /** Step capacities (device runners size their buffers from them). */
  readonly limits?: StepLimits;
}

/** The most one step may hold, as the engine configured its scheduler. */
export interface StepLimits {
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
  /** Draft tokens per request per step (speculative decoding; 0 without). */
  readonly numSpeculativeTokens: number;
  readonly blockSize: number;
}

/**
 * Executes scheduler steps on a model: keeps each request's tokens, block table and random
 * generator, runs one forward pass over every scheduled token and samples.
 */
export interface ModelRunner {
  /** Resolved model shape, EOS ids, maxModelLen, architecture and dtype. */
  readonly modelConfig: ModelConfig;
  /**
   * Bytes one KV block takes across all layers, keys and values.
   * @param blockSize tokens per block
   */
  kvCacheBytesPerBlock(blockSize: number): number;
  /**
   * Allocates the paged KV cache (and the CPU swap space). Call once, before {@link execute}.
   * @param opts block count, block size, CPU blocks
   */
  initializeKVCache(opts: KVCacheInitOptions): void;
  /**
   * Device runners: loads what a step needs, profiles one maximal step and returns the bytes left
   * for the KV cache under `gpuMemoryUtilization`. Absent on the CPU runner.
   * @param limits step capacities
   * @param gpuMemoryUtilization fraction of device memory the engine may use
   */
  determineAvailableKvCacheBytes?(limits: StepLimits, gpuMemoryUtilization: number): number;
  /**
   * Runs one step: applies block moves, updates request state, runs the forward pass, samples.
   * @param schedulerOutput what to compute
   * @returns sampled tokens, logprobs and prompt logprobs per request
   */
  execute(schedulerOutput: SchedulerOutput): ModelRunnerOutput;
  /**
   * Async scheduling, first half of {@link execute}: applies the step's diffs and queues its work
   * (forward pass and device sampling launched) without waiting for it.
   *
   * Invariants: steps run in submission order on one stream; at most {@link MAX_IN_FLIGHT_STEPS}
   * are submitted and not yet collected; a decode row whose previous token is still being sampled
   * by an earlier in-flight step reads it from that step's device output; a submit that throws
   * queued nothing; everything the step's output needs is captured at submit time (the next
   * step's `finishedReqIds` may drop a request's state before this step is collected).
   * @param schedulerOutput what to compute
   * @throws InternalError (`invariant`) when the queue is full or the KV cache is missing
   */
  submit?(schedulerOutput: SchedulerOutput): void;
  /**
   * Async scheduling, second half: waits for the OLDEST submitted step and returns its output.
   * The step leaves the queue even when this throws.
   * @returns sampled tokens, logprobs and prompt logprobs per request of that step
   * @throws InternalError (`invariant`) when nothing is in flight
   */
  collect?(): ModelRunnerOutput;
  /** Releases the weights and caches (in-flight steps are finished first). */
  close(): void;
}

/** Most steps a runner holds submitted and not yet collected (vLLM's batch queue of depth 2). */
export const MAX_IN_FLIGHT_STEPS = 2;

/** Options of {@link loadModelRunner}. */
export interface LoadModelOptions {
  /** A Hugging Face model folder or Hub id (`org/name`). */
  readonly model: string;
  /** `auto` keeps config.json's dtype; the CPU computes in float32 on weights rounded to this dtype, CUDA in this dtype. */
  readonly dtype?: ModelDtype | 'auto';
  /** `dummy`: random weights of the configured shape (benchmarks). */
  readonly loadFormat?: 'auto' | 'safetensors' | 'dummy';
  /** Seed of the engine's generator (unseeded requests) and of dummy weights. */
  readonly seed?: number;
  readonly device: 'cpu' | 'cuda';
  readonly maxModelLen?: number;
  /** CUDA: never capture CUDA graphs. */
  readonly enforceEager?: boolean;
  /** Called as weights load (bytes loaded, bytes in total). */
  readonly onLoadProgress?: (loadedBytes: number, totalBytes: number) => void;
}

/**
 * Loads a model and returns its runner: the CPU model runner for `device: 'cpu'`,
 * the CUDA model runner for `'cuda'` (weights go to the GPU when the KV cache is sized; with
 * `loadFormat: 'dummy'` they are made on the device and never exist on the host).
 *
 * @param opts model, dtype, load format, seed, device
 * @returns a runner whose KV cache still has to be initialised
 * @throws ModelLoadError `cuda_unavailable` for `device: 'cuda'` without a usable GPU (the reason
 *   says why), `model_not_found`, `unsupported_model` or `model_load_failed`
 * @example
 * ```ts
 * const runner = await loadModelRunner({ model: '/models/Qwen3-0.6B', device: 'cpu' });
 * runner.initializeKVCache({ numBlocks: 256, blockSize: 16 });
 * const out = runner.execute(schedulerOutput);
 * ```
 */
export async function loadModelRunner(opts: LoadModelOptions): Promise<ModelRunner> {
  if (opts.device === 'cuda' && !isCudaAvailable()) {
    throw new ModelLoadError('cuda_unavailable', `device "cuda" is not available: ${cudaUnavailableReason()}; use device "cpu"`);
  }
  const dir = await resolveModelPath(opts.model);
  const overrides = { dtype: opts.dtype ?? 'auto', ...(opts.maxModelLen === undefined ? {} : { maxModelLen: opts.maxModelLen }) };
  const config = readModelConfig(dir, overrides);
  const loadFormat = opts.loadFormat ?? 'auto';
  const seed = opts.seed ?? 0;
  if (opts.device === 'cuda') {
    const llama = toLlamaConfig(config);
    const options = { dtype: config.dtype, seed, enforceEager: opts.enforceEager ?? false };
    if (loadFormat === 'dummy') return new CudaModelRunner(config, llama, { dummy: seed }, options);
    // Tensors are read one projection group at a time while they are uploaded (when the KV cache is sized).
    const streamed = streamLlamaHostWeights(dir, config, llama, opts.onLoadProgress);
    return new CudaModelRunner(config, llama, streamed.weights, { ...options, releaseWeights: streamed.close });
  }
  const weights = loadModelWeights(dir, config, {
    loadFormat,
    seed,
    ...(opts.onLoadProgress ? { onLoadProgress: opts.onLoadProgress } : {}),
  });
  return new CpuModelRunner(config, weights, { seed });
}
