import type { Scheduler } from '@vllm-ts/core';

/** The settings every scheduler under test is built with (each implementation maps them to its options). */
export interface SchedulerFactoryConfig {
  readonly maxModelLen: number;
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
  /** Device KV blocks, the null block included. */
  readonly numGpuBlocks: number;
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
  readonly policy: 'fcfs' | 'priority';
  /** 0 = off. */
  readonly longPrefillTokenThreshold: number;
  /** Reproducible hash chains. */
  readonly hashSeed: string;
}

/**
 * The sizes of a {@link SchedulerFactoryConfig} under the option names the V0 and V1 schedulers
 * share, to spread into either's options.
 * @param c the suite's settings
 * @returns model length, budgets, KV blocks and block size
 * @example
 * ```ts
 * const create: SchedulerFactory = (c) => new Scheduler({ ...schedulerShape(c), policy: c.policy });
 * ```
 */
export function schedulerShape(c: SchedulerFactoryConfig): Pick<SchedulerFactoryConfig, 'maxModelLen' | 'maxNumBatchedTokens' | 'maxNumSeqs' | 'numGpuBlocks' | 'blockSize'> {
  return { maxModelLen: c.maxModelLen, maxNumBatchedTokens: c.maxNumBatchedTokens, maxNumSeqs: c.maxNumSeqs, numGpuBlocks: c.numGpuBlocks, blockSize: c.blockSize };
}

/** Builds a fresh scheduler for one test. */
export type SchedulerFactory = (config: SchedulerFactoryConfig) => Scheduler;

/** Defaults for {@link SchedulerFactoryConfig}: block size 4, 64 blocks, budget 64 tokens. */
export const DEFAULT_FACTORY_CONFIG: SchedulerFactoryConfig = Object.freeze({
  maxModelLen: 128,
  maxNumBatchedTokens: 64,
  maxNumSeqs: 16,
  numGpuBlocks: 64,
  blockSize: 4,
  enablePrefixCaching: true,
  policy: 'fcfs',
  longPrefillTokenThreshold: 0,
  hashSeed: 'conformance',
});

/**
 * A seeded PRNG (mulberry32): the same seed gives the same stream on every machine.
 * @param seed any 32-bit integer
 * @returns a function giving floats in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
