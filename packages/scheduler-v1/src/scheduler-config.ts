import { didYouMean, InvalidArgumentError, type KVCacheManager } from '@vllm-ts/core';
import { HASH_ALGORITHMS, type HashAlgorithm } from '@vllm-ts/prefix-cache';

/** Options of the V1 {@link Scheduler} (camelCase of vLLM's scheduler and cache settings). */
export interface SchedulerOptions {
  /** Longest sequence (prompt + outputs), in tokens. Required. */
  readonly maxModelLen: number;
  /** Token budget of one step, drafts included; prefix hits are free. Default 8192. */
  readonly maxNumBatchedTokens?: number;
  /** Most requests in the running list. Default 256. */
  readonly maxNumSeqs?: number;
  /** When > 0, no request gets more than this many tokens in one step. Default 0 (off). */
  readonly longPrefillTokenThreshold?: number;
  /** `fcfs` (default) or `priority` (lower `priority` first, then arrival). */
  readonly policy?: 'fcfs' | 'priority';
  /** Extra KV slots per running request for draft proposers that need them (EAGLE-style). Default 0. */
  readonly numLookaheadTokens?: number;
  /** A KV-cache manager to use; absent, one is created from the options below. */
  readonly kvCacheManager?: KVCacheManager;
  /** KV blocks, the null block included; required without `kvCacheManager`. */
  readonly numGpuBlocks?: number;
  /** Tokens per block. Default 16 (or the given manager's). */
  readonly blockSize?: number;
  /** Default true. Ignored with `kvCacheManager`. */
  readonly enablePrefixCaching?: boolean;
  /**
   * Block-hash algorithm. Default `murmur3_128`: a fast non-cryptographic hash, as vLLM's default
   * of the modelled versions (Python's builtin `hash`) was; it costs ~0.1 µs per filled block
   * against ~0.9 µs for `sha256`, which is a third of a 1,024-request decode step. Choose `sha256`
   * when tenants that do not trust each other share the cache without a `cacheSalt` (a crafted
   * prompt could collide with another tenant's block under a non-cryptographic hash).
   */
  readonly prefixCachingHashAlgo?: HashAlgorithm;
  /** Seed of the hash chains; null or absent: random per scheduler. */
  readonly hashSeed?: string | null;
  /** Clock for lifecycle events, in seconds. Default `performance.now() / 1000`. */
  readonly clock?: () => number;
  /**
   * Async scheduling (vLLM's `--async-scheduling`, its `AsyncScheduler`): the engine core calls
   * `schedule()` for step N+1 before `updateFromOutput()` for step N, so the CPU plans the next step
   * while the device runs this one. Each request then counts the tokens that in-flight steps will
   * sample (placeholders) and is scheduled again before they arrive. `updateFromOutput` calls must
   * come in the order the steps were scheduled, and the runner must execute steps in that order on
   * one device stream. Speculative drafts are refused (`updateDraftTokenIds` throws). Default false.
   */
  readonly asyncScheduling?: boolean;
}

/** {@link SchedulerOptions} validated, with every default filled in. */
export interface ResolvedSchedulerConfig {
  readonly maxModelLen: number;
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
  readonly longPrefillTokenThreshold: number;
  readonly policy: 'fcfs' | 'priority';
  readonly numLookaheadTokens: number;
  readonly numGpuBlocks: number | null;
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
  readonly prefixCachingHashAlgo: HashAlgorithm;
  readonly hashSeed: string | null;
  readonly asyncScheduling: boolean;
}

const KEYS = [
  'maxModelLen',
  'maxNumBatchedTokens',
  'maxNumSeqs',
  'longPrefillTokenThreshold',
  'policy',
  'numLookaheadTokens',
  'kvCacheManager',
  'numGpuBlocks',
  'blockSize',
  'enablePrefixCaching',
  'prefixCachingHashAlgo',
  'hashSeed',
  'clock',
  'asyncScheduling',
];

/**
 * Validates scheduler options once and fills in defaults.
 * @param options the options
 * @returns the frozen resolved configuration
 * @throws InvalidArgumentError (`invalid_option`) naming the option, with a did-you-mean for typos
 */
export function resolveSchedulerConfig(options: SchedulerOptions): ResolvedSchedulerConfig {
  if (typeof options !== 'object' || options === null) bad('(options)', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) {
      const guess = didYouMean(key, KEYS);
      bad(key, 'a known option', (options as unknown as Record<string, unknown>)[key], guess ? `Did you mean "${guess}"?` : `Known options: ${KEYS.join(', ')}`);
    }
  }
  const kv = options.kvCacheManager;
  const maxModelLen = int('maxModelLen', options.maxModelLen, 1);
  const maxNumBatchedTokens = int('maxNumBatchedTokens', options.maxNumBatchedTokens ?? 8192, 1);
  const maxNumSeqs = int('maxNumSeqs', options.maxNumSeqs ?? 256, 1);
  const longPrefillTokenThreshold = int('longPrefillTokenThreshold', options.longPrefillTokenThreshold ?? 0, 0);
  const policy = options.policy ?? 'fcfs';
  if (policy !== 'fcfs' && policy !== 'priority') bad('policy', '"fcfs" or "priority"', policy);
  const numLookaheadTokens = int('numLookaheadTokens', options.numLookaheadTokens ?? 0, 0);
  const blockSize = int('blockSize', options.blockSize ?? kv?.blockSize ?? 16, 1);
  if (kv !== undefined && blockSize !== kv.blockSize) bad('blockSize', `the kvCacheManager's block size (${kv.blockSize})`, blockSize);
  const numGpuBlocks = kv === undefined ? int('numGpuBlocks', options.numGpuBlocks, 2) : null;
  const enablePrefixCaching = options.enablePrefixCaching ?? true;
  if (typeof enablePrefixCaching !== 'boolean') bad('enablePrefixCaching', 'a boolean', enablePrefixCaching);
  const prefixCachingHashAlgo = options.prefixCachingHashAlgo ?? 'murmur3_128';
  if (!HASH_ALGORITHMS.includes(prefixCachingHashAlgo)) bad('prefixCachingHashAlgo', `one of ${HASH_ALGORITHMS.join(', ')}`, prefixCachingHashAlgo);
  const hashSeed = options.hashSeed ?? null;
  if (hashSeed !== null && typeof hashSeed !== 'string') bad('hashSeed', 'a string or null', hashSeed);
  const asyncScheduling = options.asyncScheduling ?? false;
  if (typeof asyncScheduling !== 'boolean') bad('asyncScheduling', 'a boolean', asyncScheduling);
  if (options.clock !== undefined && typeof options.clock !== 'function') bad('clock', 'a function returning seconds', options.clock);
  return Object.freeze({
    maxModelLen,
    maxNumBatchedTokens,
    maxNumSeqs,
    longPrefillTokenThreshold,
    policy,
    numLookaheadTokens,
    numGpuBlocks,
    blockSize,
    enablePrefixCaching,
    prefixCachingHashAlgo,
    hashSeed,
    asyncScheduling,
  });
}

function int(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) bad(field, `an integer >= ${min}`, value);
  return value;
}

function bad(field: string, expected: string, received: unknown, hint?: string): never {
  throw new InvalidArgumentError('invalid_option', 'SchedulerOptions', field, expected, received, hint);
}
