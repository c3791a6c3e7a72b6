import { InvalidArgumentError, VllmError } from '@vllm-ts/core';
import { isCudaAvailable } from '@vllm-ts/cuda';
import type { ModelRunnerOutput, RequestId, Scheduler, SchedulerOutput } from '@vllm-ts/core';
import type { EngineSettings, EngineVersion } from '../config/engine-args.js';
import type { ModelConfig } from '../model/model-config.js';
import { EngineCore } from './engine-core.js';
import { NgramProposer } from '../spec-decode/index.js';
import type { StepLimits } from '../runner/model-runner.js';

/** The model runner as the engine core drives it (engine-model's `ModelRunner`). */
export interface EngineModelRunner {
  readonly modelConfig: ModelConfig;
  kvCacheBytesPerBlock(blockSize: number): number;
  initializeKVCache(opts: { numBlocks: number; blockSize: number; numCpuBlocks?: number; limits?: StepLimits }): void;
  determineAvailableKvCacheBytes?(limits: StepLimits, gpuMemoryUtilization: number): number;
  execute(schedulerOutput: SchedulerOutput): ModelRunnerOutput;
  /** Async scheduling: queue a step (see `ModelRunner.submit`). */
  submit?(schedulerOutput: SchedulerOutput): void;
  /** Async scheduling: the oldest submitted step's output (see `ModelRunner.collect`). */
  collect?(): ModelRunnerOutput;
  close(): void;
}

/** What the runner loader receives. */
export interface RunnerLoadOptions {
  readonly model: string;
  readonly dtype: EngineSettings['dtype'];
  readonly loadFormat: EngineSettings['loadFormat'];
  readonly seed: number;
  readonly device: 'cpu' | 'cuda';
  readonly maxModelLen?: number;
  readonly enforceEager?: boolean;
  readonly onLoadProgress?: (loaded: number, total: number) => void;
}

/** Everything a scheduler factory needs, whatever the algorithm. */
export interface SchedulerConfig {
  readonly numGpuBlocks: number;
  readonly numCpuBlocks: number;
  readonly blockSize: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly maxModelLen: number;
  readonly enablePrefixCaching: boolean;
  readonly enableChunkedPrefill: boolean;
  readonly schedulingPolicy: 'fcfs' | 'priority';
  readonly longPrefillTokenThreshold: number;
  readonly preemptionMode: 'recompute' | 'swap' | null;
  readonly schedulerDelayFactor: number;
  readonly prefixCachingHashAlgo: 'sha256' | 'murmur3_128';
  readonly numSpeculativeTokens: number;
  /** Schedule step N+1 before step N's output is applied (V1 only). Default false. */
  readonly asyncScheduling?: boolean;
}

/** Makes the scheduler of one engine version. */
export type SchedulerFactory = (version: EngineVersion, config: SchedulerConfig) => Scheduler;

/** What the engine core reports once ready (structured-clone safe). */
export interface EngineCoreInfo {
  readonly modelConfig: ModelConfig;
  readonly device: 'cpu' | 'cuda';
  readonly numGpuBlocks: number;
  readonly numCpuBlocks: number;
  readonly maxModelLen: number;
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
}

/** The pieces {@link buildEngineCore} wires together. */
export interface EngineCoreDeps {
  readonly loadRunner: (opts: RunnerLoadOptions) => Promise<EngineModelRunner>;
  readonly createScheduler: SchedulerFactory;
  readonly onLoadProgress?: (loaded: number, total: number) => void;
  readonly onError?: (error: unknown, failed: readonly RequestId[]) => void;
  readonly beforeUpdate?: () => void;
}

/**
 * The device an engine runs on: `auto` is CUDA when a GPU and the addon are usable, else the CPU.
 * @param device the `device` engine argument
 * @returns the concrete device
 */
export function resolveDevice(device: EngineSettings['device']): 'cpu' | 'cuda' {
  if (device === 'auto') return isCudaAvailable() ? 'cuda' : 'cpu';
  return device;
}

/** Default CPU KV-cache budget when neither `kvCacheMemoryBytes` nor `numGpuBlocks` is given. */
const DEFAULT_KV_CACHE_BYTES = 1 << 30;

/**
 * Loads the model runner, sizes the KV cache, makes the scheduler and returns an {@link EngineCore}.
 *
 * KV blocks: `numGpuBlocks` when given, else `kvCacheMemoryBytes` (default: up to 1 GiB, no more than
 * `maxNumSeqs` full-length sequences need) divided by the runner's bytes per block.
 *
 * @param settings validated engine settings
 * @param modelDir local model folder
 * @param deps runner loader, scheduler factory and hooks
 * @throws VllmError `insufficient_kv_cache` when one sequence of `maxModelLen` tokens does not fit,
 *   InvalidArgumentError `invalid_option` for a V0 token budget below `maxModelLen` without chunked prefill
 */
export async function buildEngineCore(
  settings: EngineSettings,
  modelDir: string,
  deps: EngineCoreDeps,
): Promise<{ core: EngineCore; runner: EngineModelRunner; info: EngineCoreInfo }> {
  const device = resolveDevice(settings.device);
  const runner = await deps.loadRunner({
    model: modelDir,
    dtype: settings.dtype,
    loadFormat: settings.loadFormat,
    seed: settings.seed,
    device,
    ...(settings.enforceEager ? { enforceEager: true } : {}),
    ...(settings.maxModelLen === null ? {} : { maxModelLen: settings.maxModelLen }),
    ...(deps.onLoadProgress === undefined ? {} : { onLoadProgress: deps.onLoadProgress }),
  });
  try {
    const maxModelLen = runner.modelConfig.maxModelLen;
    const v1 = settings.engineVersion === 'v1';
    const maxNumBatchedTokens =
      settings.maxNumBatchedTokens ?? (v1 ? (device === 'cpu' ? 4096 : 8192) : settings.enableChunkedPrefill ? 2048 : Math.max(maxModelLen, 2048));
    if (!settings.enableChunkedPrefill && maxNumBatchedTokens < maxModelLen) {
      throw new InvalidArgumentError(
        'invalid_option',
        'EngineArgs',
        'maxNumBatchedTokens',
        `at least maxModelLen (${maxModelLen}) without chunked prefill, or enableChunkedPrefill: true`,
        maxNumBatchedTokens,
      );
    }
    const { blockSize } = settings;
    const spec = settings.speculativeConfig;
    const limits: StepLimits = { maxNumBatchedTokens, maxNumSeqs: settings.maxNumSeqs, numSpeculativeTokens: spec?.numSpeculativeTokens ?? 0, blockSize };
    const bytesPerBlock = runner.kvCacheBytesPerBlock(blockSize);
    const blocksPerSeq = Math.ceil(maxModelLen / blockSize);
    const profiled = settings.numGpuBlocks === null && settings.kvCacheMemoryBytes === null && runner.determineAvailableKvCacheBytes !== undefined;
    const kvBytes = profiled
      ? Math.max(0, runner.determineAvailableKvCacheBytes!(limits, settings.gpuMemoryUtilization))
      : (settings.kvCacheMemoryBytes ?? Math.min(DEFAULT_KV_CACHE_BYTES, bytesPerBlock * (blocksPerSeq * settings.maxNumSeqs + 1)));
    const numGpuBlocks = settings.numGpuBlocks ?? Math.floor(kvBytes / bytesPerBlock);
    // NOTE: block 0 is the pool's null block and never holds KV, so one sequence needs blocksPerSeq + 1 blocks.
    if (numGpuBlocks - 1 < blocksPerSeq) {
      throw new VllmError(
        'insufficient_kv_cache',
        `[engine] the KV cache holds ${(numGpuBlocks - 1) * blockSize} tokens (${numGpuBlocks} blocks of ${blockSize}, one reserved) but one sequence ` +
          `of maxModelLen (${maxModelLen}) tokens needs ${blocksPerSeq} blocks; ` +
          (profiled ? `raise gpuMemoryUtilization (${settings.gpuMemoryUtilization}) or lower maxModelLen / maxNumBatchedTokens` : 'raise kvCacheMemoryBytes / numGpuBlocks or lower maxModelLen'),
      );
    }
    const swapBlocks = Math.floor((settings.swapSpace * 2 ** 30) / bytesPerBlock);
    // NOTE: on the CPU the swap pool is host memory too; more swap than cache would only waste it.
    const numCpuBlocks = v1 ? 0 : device === 'cpu' ? Math.min(swapBlocks, numGpuBlocks) : swapBlocks;
    runner.initializeKVCache({ numBlocks: numGpuBlocks, blockSize, numCpuBlocks, limits });
    const scheduler = deps.createScheduler(settings.engineVersion, {
      numGpuBlocks,
      numCpuBlocks,
      blockSize,
      maxNumSeqs: settings.maxNumSeqs,
      maxNumBatchedTokens,
      maxModelLen,
      enablePrefixCaching: settings.enablePrefixCaching,
      enableChunkedPrefill: settings.enableChunkedPrefill,
      schedulingPolicy: settings.schedulingPolicy,
      longPrefillTokenThreshold: settings.longPrefillTokenThreshold,
      preemptionMode: settings.preemptionMode,
      schedulerDelayFactor: settings.schedulerDelayFactor,
      prefixCachingHashAlgo: settings.prefixCachingHashAlgo,
      numSpeculativeTokens: spec?.numSpeculativeTokens ?? 0,
      asyncScheduling: settings.asyncScheduling,
    });
    if (settings.asyncScheduling && (runner.submit === undefined || runner.collect === undefined)) {
      throw new InvalidArgumentError('invalid_option', 'EngineArgs', 'asyncScheduling', 'false or absent with a model runner that has no submit()/collect()', true);
    }
    const proposer = spec === null ? undefined : new NgramProposer({ ...spec, maxModelLen });
    const core = new EngineCore(scheduler, runner, {
      ...(proposer === undefined ? {} : { proposer }),
      ...(deps.onError === undefined ? {} : { onError: deps.onError }),
      ...(deps.beforeUpdate === undefined ? {} : { beforeUpdate: deps.beforeUpdate }),
      ...(settings.asyncScheduling ? { asyncScheduling: true } : {}),
    });
    const info: EngineCoreInfo = {
      modelConfig: runner.modelConfig,
      device,
      numGpuBlocks,
      numCpuBlocks,
      maxModelLen,
      maxNumBatchedTokens,
      maxNumSeqs: settings.maxNumSeqs,
    };
    return { core, runner, info };
  } catch (error) {
    runner.close();
    throw error;
  }
}
