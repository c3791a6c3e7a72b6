// Public surface of @vllm-ts/scheduler-v1.
export { Scheduler } from './scheduler.js';
export { resolveSchedulerConfig } from './scheduler-config.js';
export type { SchedulerOptions, ResolvedSchedulerConfig } from './scheduler-config.js';
