import type { BlockHash, BlockId, RequestId } from './ids.js';
import type { PrefixCacheStats } from './scheduler-stats.js';

/** What a KV-cache manager needs to know about a request. The scheduler's request object satisfies it. */
export interface KVCacheRequest {
  readonly reqId: RequestId;
  /** Prompt + output tokens (drafts excluded). */
  readonly numTokens: number;
  /** Tokens whose KV is in the cache (or will be once the in-flight step completes); 0 while waiting. */
  readonly numComputedTokens: number;
  /** Chained hashes of every full block of prompt + outputs, kept current by the owner as tokens are appended. */
  readonly blockHashes: readonly BlockHash[];
  /** Times the request was preempted (lookups after a preemption are counted apart). */
  readonly numPreemptions: number;
  /** True when the request must not read the prefix cache (e.g. it wants prompt logprobs). */
  readonly skipReadingPrefixCache: boolean;
}

/** An opaque list of blocks handed out by a {@link KVCacheManager}; only ids leave it. */
export interface KVCacheBlocks {
  /** Number of blocks. */
  readonly length: number;
  /** The blocks' ids, in table order. */
  getBlockIds(): readonly BlockId[];
}

/** Result of {@link KVCacheManager.getComputedBlocks}. */
export interface ComputedBlocks {
  /** Leading full blocks already in the cache. */
  readonly blocks: KVCacheBlocks;
  /** `blocks.length * blockSize`. */
  readonly numHitTokens: number;
}

/** Options of {@link KVCacheManager.allocateSlots}. */
export interface AllocateSlotsOptions {
  /** Tokens covered by `newComputedBlocks` (prefix hits found by `getComputedBlocks`). */
  readonly numNewComputedTokens?: number;
  /** Prefix-hit blocks to take (touch) for the request. */
  readonly newComputedBlocks?: KVCacheBlocks;
  /** Extra slots beyond the new tokens (never cached), e.g. for draft proposers that need KV. */
  readonly numLookaheadTokens?: number;
}

/**
 * The V1 KV-cache manager as the scheduler sees it (implemented by `@vllm-ts/prefix-cache`).
 *
 * Call order per step: for a waiting request, `getComputedBlocks` (no side effects) then
 * `allocateSlots` with the hits; for a running one, `allocateSlots` alone; `free` when a request
 * finishes, is aborted or is preempted.
 */
export interface KVCacheManager {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Blocks in the pool, including the null block. */
  readonly numBlocks: number;
  /** Blocks not held by any request (cached-but-evictable ones included). */
  readonly numFreeBlocks: number;
  /** Fraction of usable blocks held by requests, in [0, 1]. */
  readonly usage: number;
  /** Cumulative prefix-cache counters. */
  readonly prefixCacheStats: PrefixCacheStats;

  /**
   * Longest run of leading full blocks of `request` already cached. The last token is never a hit.
   * No side effects (blocks are neither reserved nor touched).
   */
  getComputedBlocks(request: KVCacheRequest): ComputedBlocks;

  /**
   * Makes room for `numNewTokens` more tokens (plus lookahead) and takes the prefix hits.
   * Returns the newly allocated blocks, or null, with no side effects, when the pool is short.
   * Full blocks up to `request.numTokens` are cached as they are allocated (never draft or lookahead slots).
   */
  allocateSlots(request: KVCacheRequest, numNewTokens: number, options?: AllocateSlotsOptions): KVCacheBlocks | null;

  /** Releases all of the request's blocks, tail first (so they are evicted first). Idempotent. */
  free(request: KVCacheRequest): void;

  /** The request's block table. */
  getBlockIds(reqId: RequestId): readonly BlockId[];

  /** Forgets every cached hash; refused (returns false) while any request holds blocks. */
  resetPrefixCache(): boolean;
}
