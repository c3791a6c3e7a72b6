import { InvalidArgumentError, didYouMean } from '@vllm-ts/core';
import { HASH_ALGORITHMS, type HashAlgorithm } from '@vllm-ts/prefix-cache';

/** Options of {@link SchedulerV0} (the camelCase of vLLM's V0 scheduler, cache and engine args). */
export interface SchedulerV0Options {
  /** Tokens per KV block. Default 16. */
  readonly blockSize?: number;
  /** Device KV blocks, the null block included. */
  readonly numGpuBlocks: number;
  /** CPU swap blocks (block 0 reserved); below 2 disables swapping. Default 0. */
  readonly numCpuBlocks?: number;
  /** Longest prompt + output, in tokens. */
  readonly maxModelLen: number;
  /** Token budget per step. Default: 2048 with chunked prefill, else `max(maxModelLen, 2048)`. */
  readonly maxNumBatchedTokens?: number;
  /** Most sequences running at once. Default 256. */
  readonly maxNumSeqs?: number;
  /** Decode-first mixed steps with prefill chunks. Default false. */
  readonly enableChunkedPrefill?: boolean;
  /** V0 prefix-caching block manager. Default false. */
  readonly enablePrefixCaching?: boolean;
  /** Block hash algorithm of the prefix cache. Default `sha256`. */
  readonly prefixCachingHashAlgo?: HashAlgorithm;
  /** Seed of the prefix cache's hash chains (reproducible hashes); null: random per scheduler. */
  readonly hashSeed?: string | null;
  /** Forced preemption mode; default: recompute for single-sequence groups, swap otherwise. */
  readonly preemptionMode?: 'recompute' | 'swap';
  /** `fcfs` (default) or `priority` (lower value first, then arrival). */
  readonly schedulingPolicy?: 'fcfs' | 'priority';
  /** Hold new prompts until the oldest waited this fraction of the last prompt step's latency. Default 0. */
  readonly schedulerDelayFactor?: number;
  /** Fraction of device blocks kept free at admission and swap-in. Default 0.01. */
  readonly watermark?: number;
  /** Chunked mode: prefills sharing a step's budget at once. Default 1. */
  readonly maxNumPartialPrefills?: number;
  /** Chunked mode: long prompts among those. Default 1. */
  readonly maxLongPartialPrefills?: number;
  /** Chunked mode: a prompt longer than this is "long". Default 4% of maxModelLen when partial prefills > 1, else 0. */
  readonly longPrefillTokenThreshold?: number;
  /** Seconds on a monotonic clock (inject a fake one in tests). Default `performance.now() / 1000`. */
  readonly clock?: () => number;
}

/** {@link SchedulerV0Options} with every default filled in, frozen. */
export type SchedulerV0Config = Readonly<Required<Omit<SchedulerV0Options, 'preemptionMode' | 'hashSeed'>>> & {
  readonly preemptionMode: 'recompute' | 'swap' | null;
  readonly hashSeed: string | null;
};

const KEYS = [
  'blockSize', 'numGpuBlocks', 'numCpuBlocks', 'maxModelLen', 'maxNumBatchedTokens', 'maxNumSeqs',
  'enableChunkedPrefill', 'enablePrefixCaching', 'prefixCachingHashAlgo', 'hashSeed', 'preemptionMode', 'schedulingPolicy', 'schedulerDelayFactor',
  'watermark', 'maxNumPartialPrefills', 'maxLongPartialPrefills', 'longPrefillTokenThreshold', 'clock',
];

/**
 * Validates options and fills in V0's defaults.
 * @param options user options (unknown keys refused with a did-you-mean)
 * @returns the frozen config
 * @throws InvalidArgumentError (`invalid_option`) naming the field, what it accepts and what came in
 */
export function resolveSchedulerV0Config(options: SchedulerV0Options): SchedulerV0Config {
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) {
      const guess = didYouMean(key, KEYS);
      throw new InvalidArgumentError('invalid_option', 'SchedulerV0Options', key, 'a known option', (options as unknown as Record<string, unknown>)[key], guess ? `Did you mean "${guess}"?` : undefined);
    }
  }
  const o = options;
  const chunked = bool('enableChunkedPrefill', o.enableChunkedPrefill ?? false);
  const maxModelLen = int('maxModelLen', o.maxModelLen, 1);
  const maxNumBatchedTokens = int('maxNumBatchedTokens', o.maxNumBatchedTokens ?? (chunked ? 2048 : Math.max(maxModelLen, 2048)), 1);
  const maxNumSeqs = int('maxNumSeqs', o.maxNumSeqs ?? 256, 1);
  if (!chunked && maxNumBatchedTokens < maxModelLen) {
    bad('maxNumBatchedTokens', `>= maxModelLen (${maxModelLen}) when chunked prefill is off, or longer prompts could never run`, maxNumBatchedTokens);
  }
  if (maxNumBatchedTokens < maxNumSeqs) bad('maxNumBatchedTokens', `>= maxNumSeqs (${maxNumSeqs})`, maxNumBatchedTokens);
  const mode = o.preemptionMode ?? null;
  if (mode !== null && mode !== 'recompute' && mode !== 'swap') bad('preemptionMode', '"recompute" or "swap"', mode);
  const policy = o.schedulingPolicy ?? 'fcfs';
  if (policy !== 'fcfs' && policy !== 'priority') bad('schedulingPolicy', '"fcfs" or "priority"', policy);
  const delay = o.schedulerDelayFactor ?? 0;
  if (typeof delay !== 'number' || !(delay >= 0) || !Number.isFinite(delay)) bad('schedulerDelayFactor', 'a finite number >= 0', delay);
  const watermark = o.watermark ?? 0.01;
  if (typeof watermark !== 'number' || !(watermark >= 0 && watermark < 1)) bad('watermark', 'a number in [0, 1)', watermark);
  const partial = int('maxNumPartialPrefills', o.maxNumPartialPrefills ?? 1, 1);
  const longPartial = int('maxLongPartialPrefills', o.maxLongPartialPrefills ?? 1, 1);
  if (longPartial > partial) bad('maxLongPartialPrefills', `<= maxNumPartialPrefills (${partial})`, longPartial);
  const algo = o.prefixCachingHashAlgo ?? 'sha256';
  if (!HASH_ALGORITHMS.includes(algo)) bad('prefixCachingHashAlgo', `one of ${HASH_ALGORITHMS.join(', ')}`, algo);
  const hashSeed = o.hashSeed ?? null;
  if (hashSeed !== null && typeof hashSeed !== 'string') bad('hashSeed', 'a string or null', hashSeed);
  const clock = o.clock ?? (() => performance.now() / 1000);
  if (typeof clock !== 'function') bad('clock', 'a function returning seconds', clock);
  return Object.freeze({
    blockSize: int('blockSize', o.blockSize ?? 16, 1),
    numGpuBlocks: int('numGpuBlocks', o.numGpuBlocks, 2),
    numCpuBlocks: int('numCpuBlocks', o.numCpuBlocks ?? 0, 0),
    maxModelLen,
    maxNumBatchedTokens,
    maxNumSeqs,
    enableChunkedPrefill: chunked,
    enablePrefixCaching: bool('enablePrefixCaching', o.enablePrefixCaching ?? false),
    prefixCachingHashAlgo: algo,
    hashSeed,
    preemptionMode: mode,
    schedulingPolicy: policy,
    schedulerDelayFactor: delay,
    watermark,
    maxNumPartialPrefills: partial,
    maxLongPartialPrefills: longPartial,
    longPrefillTokenThreshold: int('longPrefillTokenThreshold', o.longPrefillTokenThreshold ?? (partial > 1 ? Math.floor(0.04 * maxModelLen) : 0), 0),
    clock,
  });
}

function bad(field: string, expected: string, received: unknown): never {
  throw new InvalidArgumentError('invalid_option', 'SchedulerV0Options', field, expected, received);
}

function int(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(field, `an integer >= ${min}`, v);
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') bad(field, 'a boolean', v);
  return v;
}
