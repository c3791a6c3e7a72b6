import { schedulerShape, type SchedulerFactoryConfig } from '@vllm-ts/scheduler-conformance';
import { Scheduler } from '../scheduler.js';
import type { SchedulerOptions } from '../scheduler-config.js';

/**
 * The V1 scheduler the shared conformance suite and simulator ask for, plus extra options.
 * @param c the suite's shape and memory
 * @param extra options the suite does not set (e.g. `asyncScheduling`)
 * @returns a scheduler with its own KV-cache manager
 */
export function conformanceScheduler(c: SchedulerFactoryConfig, extra: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler({
    ...schedulerShape(c),
    enablePrefixCaching: c.enablePrefixCaching,
    policy: c.policy,
    longPrefillTokenThreshold: c.longPrefillTokenThreshold,
    hashSeed: c.hashSeed,
    ...extra,
  });
}
