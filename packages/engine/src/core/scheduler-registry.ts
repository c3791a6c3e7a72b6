import { VllmError } from '@vllm-ts/core';
import type { Scheduler } from '@vllm-ts/core';
import { SchedulerV0 } from '@vllm-ts/scheduler-v0';
import { Scheduler as V1Scheduler } from '@vllm-ts/scheduler-v1';
import type { EngineVersion } from '../config/engine-args.js';
import { nowSeconds } from './clock.js';
import type { SchedulerConfig, SchedulerFactory } from './build-engine-core.js';

/** One factory per engine version; the engine picks by `engineVersion`. */
const REGISTRY: Readonly<Record<string, (config: SchedulerConfig) => Scheduler>> = {
  v0: (c) =>
    new SchedulerV0({
      blockSize: c.blockSize,
      numGpuBlocks: c.numGpuBlocks,
      numCpuBlocks: c.numCpuBlocks,
      maxModelLen: c.maxModelLen,
      maxNumBatchedTokens: c.maxNumBatchedTokens,
      maxNumSeqs: c.maxNumSeqs,
      enableChunkedPrefill: c.enableChunkedPrefill,
      enablePrefixCaching: c.enablePrefixCaching,
      ...(c.preemptionMode === null ? {} : { preemptionMode: c.preemptionMode }),
      schedulingPolicy: c.schedulingPolicy,
      schedulerDelayFactor: c.schedulerDelayFactor,
      ...(c.longPrefillTokenThreshold > 0 ? { longPrefillTokenThreshold: c.longPrefillTokenThreshold } : {}),
      clock: nowSeconds,
    }),
  v1: (c) =>
    new V1Scheduler({
      maxModelLen: c.maxModelLen,
      maxNumBatchedTokens: c.maxNumBatchedTokens,
      maxNumSeqs: c.maxNumSeqs,
      longPrefillTokenThreshold: c.longPrefillTokenThreshold,
      policy: c.schedulingPolicy,
      numGpuBlocks: c.numGpuBlocks,
      blockSize: c.blockSize,
      enablePrefixCaching: c.enablePrefixCaching,
      prefixCachingHashAlgo: c.prefixCachingHashAlgo,
      ...(c.asyncScheduling === true ? { asyncScheduling: true } : {}),
      clock: nowSeconds,
    }),
};

/**
 * Makes the scheduler registered for `version`.
 * @param version `v0` or `v1`
 * @param config budgets, cache and policy settings
 * @throws VllmError `unsupported_engine_version` naming the registered versions
 */
export const createScheduler: SchedulerFactory = (version: EngineVersion, config: SchedulerConfig): Scheduler => {
  const factory = REGISTRY[version];
  if (factory === undefined) {
    throw new VllmError('unsupported_engine_version', `[engine] no scheduler is registered for engine version ${JSON.stringify(version)}; registered: ${Object.keys(REGISTRY).join(', ')}`);
  }
  return factory(config);
};
