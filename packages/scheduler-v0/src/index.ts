// Public surface of @vllm-ts/scheduler-v0.
export { SchedulerV0 } from './scheduler-v0.js';
export { resolveSchedulerV0Config } from './config.js';
export type { SchedulerV0Options, SchedulerV0Config } from './config.js';
