import fc from 'fast-check';
import { expect, it } from 'vitest';
import { TrieEdgeTable } from './trie-edge-table.js';

it('behaves as a map from (parent, token) to child through growth and collisions', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })), { maxLength: 300 }), (edges) => {
      const table = new TrieEdgeTable(1);
      const ref = new Map<string, number>();
      edges.forEach(([parent, token], i) => {
        const key = `${parent}:${token}`;
        const want = ref.get(key) ?? i;
        ref.set(key, want);
        expect(table.findOrInsert(parent, token, i)).toBe(want);
      });
      expect(table.size).toBe(ref.size);
      for (const [key, child] of ref) {
        const [parent, token] = key.split(':').map(Number) as [number, number];
        expect(table.get(parent, token)).toBe(child);
        expect(table.get(parent + 41, token)).toBe(-1);
      }
    }),
    { numRuns: 300, seed: 56 },
  );
});
