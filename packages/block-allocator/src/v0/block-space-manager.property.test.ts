import type { RequestId } from '@vllm-ts/core';
import { emptyV0RunStats, v0BlockManagerProperty, v0PropertyFailure, type DrivenManagerSizes, type ManagerUnderTest } from '@vllm-ts/v0-block-manager-testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockSpaceManager } from './block-space-manager.js';
import type { BlockPair } from './block-table.js';

/** Exposes the pools to the shared checks. */
class Probe extends BlockSpaceManager {
  underTest(): ManagerUnderTest<this> {
    return { manager: this, gpu: this.gpu, cpu: this.cpu };
  }
}

const create = (sizes: DrivenManagerSizes) => new Probe({ ...sizes, watermark: 0 }).underTest();

describe('BlockSpaceManager under random operations', () => {
  it('keeps ref counts equal to table entries, free + held = pool, every table holding its own tokens, and calls agreeing with their queries', () => {
    const stats = emptyV0RunStats();
    fc.assert(v0BlockManagerProperty({ create }, stats), { numRuns: 300 });
    // Every path was reached, refusals and copy-on-write included; without prefix caching nothing hits.
    const { cacheHits, ...reached } = stats;
    for (const [event, n] of Object.entries(reached)) expect(n, event).toBeGreaterThan(0);
    expect(cacheHits).toBe(0);
  });
});

// Seeded bugs the driver must catch: a property that passes them could not fail.
class ForkWithoutRefs extends Probe {
  override fork(parent: RequestId, child: RequestId): void {
    const t = this.tableOf(parent);
    this.tables.set(child, { blocks: [...t.blocks], numSlots: t.numSlots, onCpu: false });
  }
}

class DropsOneSwapPair extends Probe {
  override swapIn(seqIds: readonly RequestId[], mapping: BlockPair[]): boolean {
    const ok = super.swapIn(seqIds, mapping);
    if (mapping.length > 0) mapping.pop();
    return ok;
  }
}

class LeaksSwappedTables extends Probe {
  override free(seqId: RequestId): void {
    if (this.tables.get(seqId)?.onCpu === true) this.tables.delete(seqId);
    else super.free(seqId);
  }
}

describe('the V0 random-operation driver against seeded BlockSpaceManager bugs', () => {
  const mutants: [string, RegExp, (s: DrivenManagerSizes) => ManagerUnderTest<Probe>][] = [
    ['fork without ref counts', /device blocks: \[ref count, free\]/, (s) => new ForkWithoutRefs({ ...s, watermark: 0 }).underTest()],
    ['a swap-in mapping missing a pair', /swap sources/, (s) => new DropsOneSwapPair({ ...s, watermark: 0 }).underTest()],
    ['free leaking a swapped-out table', /CPU blocks: \[ref count, free\]/, (s) => new LeaksSwappedTables({ ...s, watermark: 0 }).underTest()],
  ];
  it.each(mutants)('fails on %s, by the check meant for it', (_, why, mutant) => {
    expect(v0PropertyFailure({ create: mutant }, { seed: 1 })).toMatch(why);
  });
});
