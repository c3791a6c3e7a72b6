import { describeSchedulerConformance } from '@vllm-ts/scheduler-conformance';
import { Scheduler } from './scheduler.js';

describeSchedulerConformance(
  'v1',
  (c) =>
    new Scheduler({
      maxModelLen: c.maxModelLen,
      maxNumBatchedTokens: c.maxNumBatchedTokens,
      maxNumSeqs: c.maxNumSeqs,
      numGpuBlocks: c.numGpuBlocks,
      blockSize: c.blockSize,
      enablePrefixCaching: c.enablePrefixCaching,
      policy: c.policy,
      longPrefillTokenThreshold: c.longPrefillTokenThreshold,
      hashSeed: c.hashSeed,
    }),
  { speculativeDecoding: true, chunkedPrefill: true },
);
