import { describeSchedulerConformance } from '@vllm-ts/scheduler-conformance';
import { conformanceScheduler } from './testing/conformance-scheduler.js';

describeSchedulerConformance(
  'v1',
  (c) => conformanceScheduler(c),
  { speculativeDecoding: true, chunkedPrefill: true },
);
