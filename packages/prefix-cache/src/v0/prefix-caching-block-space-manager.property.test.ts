import type { V0Sequence } from '@vllm-ts/block-allocator';
import type { BlockId, RequestId } from '@vllm-ts/core';
import { emptyV0RunStats, sharedPrefixPrompt, v0BlockManagerProperty, v0PropertyFailure, type DrivenManagerSizes, type ManagerUnderTest, type V0BlockManagerFlavour } from '@vllm-ts/v0-block-manager-testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixCachingBlockSpaceManager } from './prefix-caching-block-space-manager.js';

/** Exposes the pools to the shared checks. */
class Probe extends PrefixCachingBlockSpaceManager {
  underTest(): ManagerUnderTest<this> {
    return { manager: this, gpu: this.gpu, cpu: this.cpu };
  }
}

/** The prefix-caching flavour: shared-prefix prompts, marked steps, and the evictor's blocks held by the cache. */
function flavour(create: (sizes: DrivenManagerSizes) => ManagerUnderTest<Probe>): V0BlockManagerFlavour<Probe> {
  return {
    create,
    promptTokens: sharedPrefixPrompt,
    markScheduled: true,
    cacheHeldBlocks: (bm) => bm.evictableBlockIds(),
    afterEach: (bm) => {
      // Only cached content is worth keeping: every evictable block still has its hash.
      const unhashed = bm.evictableBlockIds().filter((b) => bm.cachedHash(b) === null);
      expect(unhashed, 'evictable blocks without a cached hash').toEqual([]);
      const rate = bm.prefixCacheHitRate;
      expect(rate >= 0 && rate <= 1, `hit rate ${rate}`).toBe(true);
    },
    afterDrain: (bm) => {
      expect(bm.evictableBlockIds()).toEqual([]);
      for (let b = 1; b < bm.numGpuBlocks; b++) expect(bm.cachedHash(b as BlockId), `hash of block ${b} after a reset`).toBeNull();
    },
  };
}

const create = (sizes: DrivenManagerSizes) => new Probe({ ...sizes, watermark: 0, hashSeed: 'p' }).underTest();

describe('PrefixCachingBlockSpaceManager under random operations', () => {
  it('keeps ref counts equal to holders (the evictor included), free = never-cached + evictable, every table holding its own tokens, and cached tokens holding their KV', () => {
    const stats = emptyV0RunStats();
    fc.assert(v0BlockManagerProperty(flavour(create), stats), { numRuns: 300 });
    // Every path was reached: prefix hits, dedup rewrites and refusals included.
    for (const [event, n] of Object.entries(stats)) expect(n, event).toBeGreaterThan(0);
  });
});

// Seeded bugs the driver must catch: a property that passes them could not fail.
class ForgetsToUncache extends Probe {
  protected override releaseBlocks(ids: readonly BlockId[]): void {
    // Bypasses the evictor: a cached block goes back to the free queue with its hash still mapped.
    this.gpu.free(ids);
  }
}

class ClaimsUncachedTokens extends Probe {
  // Consistent with itself (peek agrees), so only the KV check can tell the blocks were never filled.
  override peekNumCachedTokens(seq: V0Sequence): number {
    return Math.floor((seq.tokenIds.length - 1) / this.blockSize) * this.blockSize;
  }
  override getNumCachedTokens(seqId: RequestId): number {
    return Math.max(0, this.tableOf(seqId).blocks.length - 1) * this.blockSize;
  }
}

describe('the V0 random-operation driver against seeded PrefixCachingBlockSpaceManager bugs', () => {
  const build = (Bug: typeof Probe) => (s: DrivenManagerSizes) => new Bug({ ...s, watermark: 0, hashSeed: 'p' }).underTest();
  // Without the drain checks, which would see the leftover hash too: the stale hit must show in the KV.
  const { afterDrain: _, ...perStep } = flavour(build(ForgetsToUncache));
  const mutants: [string, RegExp, V0BlockManagerFlavour<Probe>][] = [
    ['cached blocks freed without uncaching', /KV slots/, perStep],
    ['claiming never-filled blocks as cached', /KV slots/, flavour(build(ClaimsUncachedTokens))],
  ];
  it.each(mutants)('fails on %s, by the check meant for it', (_, why, mutant) => {
    expect(v0PropertyFailure(mutant, { seed: 1 })).toMatch(why);
  });
});
