import { describeSchedulerConformance, schedulerShape } from '@vllm-ts/scheduler-conformance';
import { SchedulerV0 } from './scheduler-v0.js';

// The shared suite runs with a token budget (64) below maxModelLen (128), which V0 allows only with
// chunked prefill (without it, vLLM rejects the config), so the suite drives V0's chunked mode; the
// default prefill-first mode is covered by simulation.test.ts. `chunkedPrefill: false` skips the
// suite's threshold case: it checks V1's per-request cap, while V0's longPrefillTokenThreshold only
// classifies long prompts for maxLongPartialPrefills.
describeSchedulerConformance(
  'v0 (chunked)',
  (c) =>
    new SchedulerV0({
      ...schedulerShape(c),
      enablePrefixCaching: c.enablePrefixCaching,
      enableChunkedPrefill: true,
      schedulingPolicy: c.policy,
      hashSeed: c.hashSeed,
      watermark: 0.01,
    }),
  { speculativeDecoding: false, chunkedPrefill: false, numRequests: 600 },
);
