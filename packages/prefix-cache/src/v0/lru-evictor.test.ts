import { blockId } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruEvictor } from './lru-evictor.js';

describe('LruEvictor', () => {
  it('evicts the oldest access first, and the deeper block first among equal times', () => {
    const e = new LruEvictor(8);
    e.add(blockId(1), 5, 4);
    e.add(blockId(2), 5, 8);
    e.add(blockId(3), 2, 4);
    e.add(blockId(4), 9, 16);
    expect(e.toArray()).toEqual([3, 2, 1, 4]);
    expect(e.evict()).toBe(3);
    expect(e.evict()).toBe(2);
    e.remove(blockId(1)); // a hit revives it
    expect(e.has(blockId(1))).toBe(false);
    expect(e.size).toBe(1);
    expect(e.evict()).toBe(4);
    expect(e.evict()).toBeNull();
  });

  it('skips stale entries of a block freed again with a later access time', () => {
    const e = new LruEvictor(4);
    e.add(blockId(1), 1, 4);
    e.add(blockId(2), 2, 4);
    e.remove(blockId(1));
    e.add(blockId(1), 3, 4);
    expect(e.evict()).toBe(2);
    expect(e.evict()).toBe(1);
    expect(e.evict()).toBeNull();
  });

  it('matches a sorted model under random adds, removes and evictions', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 5 })), { maxLength: 300 }), (ops) => {
        const e = new LruEvictor(16);
        const model = new Map<number, [number, number]>();
        let now = 0;
        for (const [op, id, depth] of ops) {
          now += depth % 2; // equal times happen often
          if (op === 0 && !model.has(id)) {
            e.add(blockId(id), now, depth);
            model.set(id, [now, depth]);
          } else if (op === 1) {
            e.remove(blockId(id));
            model.delete(id);
          } else if (op === 2) {
            const expected = [...model].sort((a, b) => a[1][0] - b[1][0] || b[1][1] - a[1][1] || a[0] - b[0])[0]?.[0] ?? null;
            expect(e.evict()).toBe(expected);
            if (expected !== null) model.delete(expected);
          }
          expect(e.size).toBe(model.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});
