import { requestId, type BlockId } from '@vllm-ts/core';
import type { BlockPair, V0Sequence } from '@vllm-ts/block-allocator';
import { describe, expect, it } from 'vitest';
import { PrefixCachingBlockSpaceManager } from './prefix-caching-block-space-manager.js';

const seq = (id: string, tokenIds: number[], cacheSalt?: string): V0Sequence & { tokenIds: number[] } => ({ seqId: requestId(id), tokenIds, cacheSalt });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const make = () => new PrefixCachingBlockSpaceManager({ blockSize: 4, numGpuBlocks: 10, watermark: 0, hashSeed: '0' });

describe('PrefixCachingBlockSpaceManager', () => {
  it('shares computed full blocks by content and counts block-level hits', () => {
    const bm = make();
    const a = seq('a', range(1, 10));
    expect(bm.peekNumCachedTokens(a)).toBe(0);
    expect(bm.allocate([a])).toBe(true);
    expect(bm.getBlockTable(a.seqId)).toEqual([1, 2, 3]);
    expect(bm.getNumCachedTokens(a.seqId)).toBe(0);
    expect(bm.prefixCacheHitRate).toBe(0);
    bm.markScheduled([[a.seqId, 10]], 1);

    const b = seq('b', [...range(1, 8), 50, 51, 52]);
    expect(bm.peekNumCachedTokens(b)).toBe(8);
    expect(bm.allocate([b])).toBe(true);
    expect(bm.getBlockTable(b.seqId)).toEqual([1, 2, 4]);
    expect(bm.getNumCachedTokens(b.seqId)).toBe(8);
    expect(bm.prefixCacheHitRate).toBe(2 / 4);
    expect(bm.numFreeGpuBlocks).toBe(5);
  });

  it('never serves a block to the batch that fills it, nor the last token', () => {
    const bm = make();
    const a = seq('a', range(1, 8));
    bm.allocate([a]);
    // Same batch: a's blocks are hashed but not computed yet.
    const b = seq('b', range(1, 8));
    bm.allocate([b]);
    expect(bm.getBlockTable(b.seqId)).toEqual([1, 2]);
    expect(bm.getNumCachedTokens(b.seqId)).toBe(0);
    bm.markScheduled([[a.seqId, 8], [b.seqId, 8]], 1);
    // A fully cached 8-token prompt still computes its last block: at most 4 hit tokens.
    expect(bm.peekNumCachedTokens(seq('c', range(1, 8)))).toBe(4);
    expect(bm.peekNumCachedTokens(seq('d', range(1, 9)))).toBe(8);
  });

  it('keeps freed cached blocks evictable in last-access order, after never-cached free blocks', () => {
    const bm = make();
    const a = seq('a', range(1, 10));
    bm.allocate([a]);
    bm.markScheduled([[a.seqId, 10]], 1);
    const b = seq('b', range(100, 8));
    bm.allocate([b]);
    bm.markScheduled([[b.seqId, 8]], 2);
    bm.free(a.seqId);
    bm.free(b.seqId);
    // a's blocks were last used at 1, b's at 2; among equals, the deeper block goes first.
    expect(bm.evictableBlockIds()).toEqual([2, 1, 5, 4]);
    expect(bm.numFreeGpuBlocks).toBe(9);
    // 6 blocks: the 5 never-cached free ones, then the oldest cached one.
    const c = seq('c', range(500, 24));
    bm.allocate([c]);
    expect(bm.getBlockTable(c.seqId)).toEqual([6, 7, 8, 9, 3, 2]);
    expect(bm.cachedHash(2 as BlockId)).not.toBeNull(); // now c's content
    expect(bm.evictableBlockIds()).toEqual([1, 5, 4]);
    // a's first block is still a hit.
    expect(bm.peekNumCachedTokens(seq('d', range(1, 6)))).toBe(4);
  });

  it('dedups a block that fills up with content already cached (rewriting the table)', () => {
    const bm = make();
    const a = seq('a', range(1, 6));
    bm.allocate([a]);
    bm.markScheduled([[a.seqId, 6]], 1);
    const d = seq('d', range(1, 3));
    bm.allocate([d]);
    expect(bm.getBlockTable(d.seqId)).toEqual([3]);
    d.tokenIds.push(4);
    const copies: BlockPair[] = [];
    expect(bm.appendSlots(d, 0, copies)).toBe(true);
    expect(bm.getBlockTable(d.seqId)).toEqual([1]);
    expect(copies).toEqual([]);
    expect(bm.numFreeGpuBlocks).toBe(7);
  });

  it('isolates tenants by cache salt and resets only when nothing is held', () => {
    const bm = make();
    const a = seq('a', range(1, 9), 'tenant-a');
    bm.allocate([a]);
    bm.markScheduled([[a.seqId, 9]], 1);
    expect(bm.peekNumCachedTokens(seq('x', range(1, 9), 'tenant-b'))).toBe(0);
    expect(bm.peekNumCachedTokens(seq('y', range(1, 9), 'tenant-a'))).toBe(8);
    expect(bm.resetPrefixCache()).toBe(false);
    bm.free(a.seqId);
    expect(bm.resetPrefixCache()).toBe(true);
    expect(bm.evictableBlockIds()).toEqual([]);
    expect(bm.numFreeGpuBlocks).toBe(9);
    expect(bm.peekNumCachedTokens(seq('y', range(1, 9), 'tenant-a'))).toBe(0);
  });
});
