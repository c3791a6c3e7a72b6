import type { BlockHash } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockHashTable } from './block-hash-table.js';

// 32 blocks: a 64-slot table that can be nearly half full, so probe runs are common.
const NUM_BLOCKS = 32;
const ALL_KEYS = Array.from({ length: 61 }, (_, k) => `h${k}` as BlockHash);

/** The table beside a Map model, keys held per block as the pool holds them. */
function harness(): { table: BlockHashTable; keys: (BlockHash | null)[]; model: Map<BlockHash, number> } {
  const keys: (BlockHash | null)[] = Array.from({ length: NUM_BLOCKS }, () => null);
  return { table: new BlockHashTable(NUM_BLOCKS, keys), keys, model: new Map() };
}

describe('BlockHashTable', () => {
  it('stores, finds, replaces and deletes by hash', () => {
    const { table, keys } = harness();
    keys[3] = 'abc' as BlockHash;
    expect(table.insertIfAbsent('abc' as BlockHash, 3)).toBe(0);
    keys[5] = 'abc' as BlockHash;
    expect(table.insertIfAbsent('abc' as BlockHash, 5)).toBe(3);
    expect(table.get('abc' as BlockHash)).toBe(3);
    expect(table.get('abd' as BlockHash)).toBe(0);
    expect(table.replace('abc' as BlockHash, 5)).toBe(true);
    expect(table.get('abc' as BlockHash)).toBe(5);
    expect(table.replace('zzz' as BlockHash, 1)).toBe(false);
    expect(table.size).toBe(1);
    expect(table.delete('abc' as BlockHash)).toBe(true);
    expect(table.delete('abc' as BlockHash)).toBe(false);
    expect(table.get('abc' as BlockHash)).toBe(0);
    expect(table.size).toBe(0);
  });

  it('inserts a batch as one insertIfAbsent per block in order (repeats in and before the batch)', () => {
    // Blocks 1..31 take keys from a few values, so a batch meets keys it already holds and keys
    // inserted earlier in the same batch; the batch's outcome must equal the one-by-one one.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 31, maxLength: 31 }), fc.integer({ min: 0, max: 31 }), (picks, split) => {
        const one = harness();
        const batch = harness();
        for (let id = 1; id <= 31; id++) one.keys[id] = batch.keys[id] = ALL_KEYS[picks[id - 1]!]!;
        const expected = Array.from({ length: 31 }, (_, k) => one.table.insertIfAbsent(one.keys[k + 1]!, k + 1));
        const ids = Int32Array.from({ length: 31 }, (_, k) => k + 1);
        const out = new Int32Array(31);
        for (let k = 0; k < split; k++) out[k] = batch.table.insertIfAbsent(batch.keys[k + 1]!, k + 1);
        const rest = new Int32Array(31 - split);
        batch.table.insertAllIfAbsent(ids.subarray(split), 31 - split, rest);
        out.set(rest, split);
        expect([...out]).toEqual(expected);
        expect(batch.table.size).toBe(one.table.size);
        for (const key of ALL_KEYS.slice(0, 10)) expect(batch.table.get(key)).toBe(one.table.get(key));
      }),
    );
  });

  it('agrees with a Map under random inserts and deletes (long probe runs, wrap-around)', () => {
    // Few distinct keys over a small table: runs collide, wrap past the end, and deletions must
    // pull later entries back into the hole.
    const key = fc.integer({ min: 0, max: 60 }).map((k) => `h${k}` as BlockHash);
    const op = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('put' as const), key }), weight: 6 },
      { arbitrary: fc.record({ kind: fc.constant('del' as const), key }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant('clear' as const) }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 50, maxLength: 300 }), (ops) => {
        const { table, keys, model } = harness();
        const freeIds = Array.from({ length: NUM_BLOCKS - 1 }, (_, i) => NUM_BLOCKS - 1 - i);
        for (const o of ops) {
          if (o.kind === 'clear') {
            table.clear();
            for (const id of model.values()) {
              keys[id] = null;
              freeIds.push(id);
            }
            model.clear();
          } else if (o.kind === 'put') {
            if (model.has(o.key)) {
              expect(table.insertIfAbsent(o.key, 99)).toBe(model.get(o.key));
              continue;
            }
            const id = freeIds.pop();
            if (id === undefined) continue;
            keys[id] = o.key;
            expect(table.insertIfAbsent(o.key, id)).toBe(0);
            model.set(o.key, id);
          } else {
            const id = model.get(o.key);
            expect(table.delete(o.key)).toBe(id !== undefined);
            if (id !== undefined) {
              keys[id] = null;
              freeIds.push(id);
              model.delete(o.key);
            }
          }
          expect(table.size).toBe(model.size);
          for (const h of ALL_KEYS) if (table.get(h) !== (model.get(h) ?? 0)) expect(table.get(h)).toBe(model.get(h) ?? 0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
