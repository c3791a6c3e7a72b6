import { blockId, type BlockHash, type BlockId } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockPool } from './block-pool.js';

const b = (...ids: number[]): BlockId[] => ids.map(blockId);
const h = (s: string): BlockHash => s as BlockHash;

describe('BlockPool', () => {
  it('keeps block 0 as the null block and allocates from the head', () => {
    const pool = new BlockPool({ numBlocks: 8 });
    expect(pool.freeBlockIds()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(pool.numFreeBlocks).toBe(7);
    expect(pool.usage).toBe(0);
    expect(pool.allocate(3)).toEqual([1, 2, 3]);
    expect(pool.refCount(blockId(2))).toBe(1);
    expect(pool.numFreeBlocks).toBe(4);
    expect(pool.usage).toBeCloseTo(3 / 7);
    expect(pool.allocate(5)).toBeNull();
    expect(pool.freeBlockIds()).toEqual([4, 5, 6, 7]);
    expect(pool.allocate(0)).toEqual([]);
  });

  it('frees in the order given, so that order is the eviction order', () => {
    const pool = new BlockPool({ numBlocks: 8 });
    const blocks = pool.allocate(3)!;
    pool.free([...blocks].reverse());
    expect(pool.freeBlockIds()).toEqual([4, 5, 6, 7, 3, 2, 1]);
  });

  it('keeps hashes of free blocks until they are handed out again', () => {
    const pool = new BlockPool({ numBlocks: 5 });
    const [x, y] = pool.allocate(2)!;
    pool.cacheBlock(x!, h('A'));
    pool.cacheBlock(y!, h('B'));
    pool.free([y!, x!]);
    expect(pool.freeBlockIds()).toEqual([3, 4, 2, 1]);
    expect(pool.getCachedBlock(h('A'))).toBe(1);
    // A hit takes the block out of the middle of the queue.
    pool.touch([x!]);
    expect(pool.freeBlockIds()).toEqual([3, 4, 2]);
    expect(pool.refCount(x!)).toBe(1);
    // Allocation drains 3, 4, then evicts 2 (hash B).
    expect(pool.allocate(3)).toEqual([3, 4, 2]);
    expect(pool.getCachedBlock(h('B'))).toBeNull();
    expect(pool.blockHash(blockId(2))).toBeNull();
    expect(pool.getCachedBlock(h('A'))).toBe(1);
    expect(pool.numCachedBlocks).toBe(1);
  });

  it('keeps duplicate blocks of one hash and finds the survivor after an eviction', () => {
    const pool = new BlockPool({ numBlocks: 4 });
    const [x, y] = pool.allocate(2)!;
    pool.cacheBlock(x!, h('A'));
    pool.cacheBlock(y!, h('A'));
    expect(pool.getCachedBlock(h('A'))).toBe(1);
    pool.free([x!, y!]);
    expect(pool.allocate(2)).toEqual([3, 1]);
    expect(pool.getCachedBlock(h('A'))).toBe(2);
  });

  it('counts holders: shared blocks return to the queue only when the last holder frees them', () => {
    const pool = new BlockPool({ numBlocks: 4 });
    const [x] = pool.allocate(1)!;
    pool.touch([x!, x!]);
    expect(pool.refCount(x!)).toBe(3);
    pool.free([x!, x!]);
    expect(pool.isFree(x!)).toBe(false);
    pool.free([x!]);
    expect(pool.isFree(x!)).toBe(true);
    expect(pool.freeBlockIds()).toEqual([2, 3, 1]);
  });

  it('refuses misuse with typed errors naming the block', () => {
    const pool = new BlockPool({ numBlocks: 4 });
    expect(() => pool.free(b(0))).toThrow(expect.objectContaining({ code: 'null_block', blockId: 0 }));
    expect(() => pool.free(b(2))).toThrow(expect.objectContaining({ code: 'double_free', blockId: 2 }));
    expect(() => pool.free(b(9))).toThrow(expect.objectContaining({ code: 'unknown_block', blockId: 9 }));
    expect(() => pool.cacheBlock(blockId(1), h('A'))).toThrow(expect.objectContaining({ code: 'block_not_held' }));
    expect(() => pool.cacheBlock(blockId(0), h('A'))).toThrow(expect.objectContaining({ code: 'null_block' }));
    const [x] = pool.allocate(1)!;
    pool.cacheBlock(x!, h('A'));
    expect(() => pool.cacheBlock(x!, h('B'))).toThrow(/block 1 already holds hash A; cannot cache B/);
    expect(() => pool.allocate(-1)).toThrow(expect.objectContaining({ code: 'invalid_block_count' }));
    expect(() => new BlockPool({ numBlocks: 1 })).toThrow(/numBlocks must be an integer >= 2/);
    pool.touch(b(0));
    expect(pool.isFree(blockId(0))).toBe(false);
  });

  it('resets the cache only when no block is held', () => {
    const pool = new BlockPool({ numBlocks: 4 });
    const [x] = pool.allocate(1)!;
    pool.cacheBlock(x!, h('A'));
    expect(pool.resetPrefixCache()).toBe(false);
    expect(pool.getCachedBlock(h('A'))).toBe(1);
    pool.free([x!]);
    expect(pool.resetPrefixCache()).toBe(true);
    expect(pool.getCachedBlock(h('A'))).toBeNull();
    expect(pool.blockHash(x!)).toBeNull();
    expect(pool.numCachedBlocks).toBe(0);
  });

  it('keeps the first block cached with a hash as its primary across batches of held-back inserts', () => {
    // 200 blocks cached with 70 distinct hashes: more inserts than one batch holds back (64), with
    // duplicates inside a batch and across batches.
    const pool = new BlockPool({ numBlocks: 300 });
    const ids = pool.allocate(200)!;
    for (let i = 0; i < 200; i++) pool.cacheBlock(ids[i]!, h(`H${i % 70}`));
    expect(pool.numCachedBlocks).toBe(200);
    expect(pool.getCachedBlock(h('H5'))).toBe(ids[5]);
    expect(pool.getCachedBlock(h('H59'))).toBe(ids[59]);
    expect(pool.getCachedBlock(h('H70'))).toBeNull();
    // Evict the primaries (the first 70 blocks): each hash falls back to its earliest duplicate.
    pool.free(ids.slice(0, 70));
    pool.allocate(99 + 70);
    expect(pool.numCachedBlocks).toBe(130);
    expect(pool.getCachedBlock(h('H5'))).toBe(ids[75]);
    expect(pool.getCachedBlock(h('H59'))).toBe(ids[129]);
    expect(pool.getCachedBlock(h('H69'))).toBe(ids[139]);
  });

  it('evicts a block whose insert is still held back', () => {
    const pool = new BlockPool({ numBlocks: 4 });
    const [x] = pool.allocate(1)!;
    pool.cacheBlock(x!, h('A'));
    pool.free([x!]);
    expect(pool.allocate(3)).toEqual(b(2, 3, 1)); // takes x last, evicting A before any lookup
    expect(pool.numCachedBlocks).toBe(0);
    expect(pool.getCachedBlock(h('A'))).toBeNull();
    pool.cacheBlock(x!, h('B'));
    expect(pool.getCachedBlock(h('B'))).toBe(x);
  });

  it('keeps its invariants against a simple model under random operations', () => {
    const N = 12;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), n: fc.nat(5) }),
      fc.record({ kind: fc.constant('free' as const), holder: fc.nat(20) }),
      fc.record({ kind: fc.constant('share' as const), holder: fc.nat(20) }),
      fc.record({ kind: fc.constant('cache' as const), holder: fc.nat(20), hash: fc.nat(6) }),
      fc.record({ kind: fc.constant('hit' as const), hash: fc.nat(6) }),
      fc.constant({ kind: 'reset' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const pool = new BlockPool({ numBlocks: N });
        // Each holder is a list of blocks it holds (one reference per entry).
        const holders: BlockId[][] = [];
        let modelQueue = Array.from({ length: N - 1 }, (_, i) => i + 1);
        const modelHash = new Map<number, string>();
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const got = pool.allocate(o.n);
            if (o.n > modelQueue.length) expect(got).toBeNull();
            else {
              expect(got).toEqual(modelQueue.slice(0, o.n));
              for (const id of got!) modelHash.delete(id);
              modelQueue = modelQueue.slice(o.n);
              holders.push(got!);
            }
          } else if (o.kind === 'free' || o.kind === 'share') {
            if (holders.length === 0) continue;
            const i = o.holder % holders.length;
            const blocks = holders[i]!;
            if (o.kind === 'share') {
              pool.touch(blocks);
              holders.push([...blocks]);
              continue;
            }
            holders.splice(i, 1);
            pool.free([...blocks].reverse());
            for (const id of [...blocks].reverse()) {
              if (!holders.some((hs) => hs.includes(id)) && !modelQueue.includes(id)) modelQueue.push(id);
            }
          } else if (o.kind === 'cache') {
            if (holders.length === 0) continue;
            const blocks = holders[o.holder % holders.length]!;
            const id = blocks.find((x) => !modelHash.has(x));
            if (id === undefined) continue;
            pool.cacheBlock(id, h(`H${o.hash}`));
            modelHash.set(id, `H${o.hash}`);
          } else if (o.kind === 'hit') {
            const id = pool.getCachedBlock(h(`H${o.hash}`));
            const expected = [...modelHash].filter(([, v]) => v === `H${o.hash}`).map(([k]) => k);
            if (expected.length === 0) expect(id).toBeNull();
            else {
              expect(expected).toContain(id);
              pool.touch([id!]);
              modelQueue = modelQueue.filter((x) => x !== id);
              holders.push([id!]);
            }
          } else {
            const ok = pool.resetPrefixCache();
            expect(ok).toBe(holders.every((hs) => hs.length === 0));
            if (ok) modelHash.clear();
          }
          // Invariants after every step.
          expect(pool.freeBlockIds()).toEqual(modelQueue);
          const held = new Map<number, number>();
          for (const hs of holders) for (const id of hs) held.set(id, (held.get(id) ?? 0) + 1);
          for (let id = 1; id < N; id++) {
            expect(pool.refCount(blockId(id))).toBe(held.get(id) ?? 0);
            expect(pool.isFree(blockId(id))).toBe(!held.has(id));
            expect(pool.blockHash(blockId(id))).toBe(modelHash.get(id) ?? null);
          }
          expect(pool.numFreeBlocks + held.size + 1).toBe(N);
          expect(pool.numCachedBlocks).toBe(modelHash.size);
        }
        for (const hs of holders.splice(0)) pool.free(hs);
        expect(pool.numFreeBlocks).toBe(N - 1);
      }),
      { numRuns: 200 },
    );
  });
});
