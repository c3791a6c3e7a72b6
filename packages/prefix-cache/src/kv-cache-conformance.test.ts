// One suite run against the V1 KVCacheManager and the V0 PrefixCachingBlockSpaceManager, where
// their contracts agree: whole-prompt admission with prefix sharing, one-slot appends, frees that
// return every block, content-correct sharing, and a reset refused while blocks are held.
import { requestId, type BlockHash, type BlockId, type KVCacheRequest, type RequestId } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockHasher } from './block-hasher.js';
import { KVCacheManager } from './kv-cache-manager.js';
import { RequestBlockHasher } from './request-block-hasher.js';
import { PrefixCachingBlockSpaceManager } from './v0/prefix-caching-block-space-manager.js';

const BS = 4;

/** The operations both flavours support, as a scheduler would drive them. */
interface Flavour {
  /** Allocates a table covering all of `tokens` and marks it computed; null when short. */
  admit(id: string, tokens: readonly number[]): readonly BlockId[] | null;
  /** `tokens` grew by one; makes a slot for it and marks it computed; false when short. */
  append(id: string, tokens: readonly number[]): boolean;
  table(id: string): readonly BlockId[];
  free(id: string): void;
  readonly numFreeBlocks: number;
  resetPrefixCache(): boolean;
}

function v1(numBlocks: number): Flavour {
  const kv = new KVCacheManager({ numBlocks, blockSize: BS, maxModelLen: 1024 });
  const hasher = new BlockHasher({ hashSeed: 'conf' });
  const reqs = new Map<string, KVCacheRequest & { numComputedTokens: number; numTokens: number; blockHashes: BlockHash[]; rh: RequestBlockHasher }>();
  const sync = (r: { numTokens: number; blockHashes: BlockHash[]; rh: RequestBlockHasher }, tokens: readonly number[]): void => {
    r.numTokens = tokens.length;
    r.rh.extend(tokens, r.blockHashes);
  };
  return {
    admit(id, tokens) {
      const r = { reqId: requestId(id), numTokens: 0, numComputedTokens: 0, numPreemptions: 0, skipReadingPrefixCache: false, blockHashes: [] as BlockHash[], rh: new RequestBlockHasher(hasher, BS) };
      sync(r, tokens);
      const hit = kv.getComputedBlocks(r);
      if (kv.allocateSlots(r, tokens.length - hit.numHitTokens, { newComputedBlocks: hit.blocks, numNewComputedTokens: hit.numHitTokens }) === null) return null;
      r.numComputedTokens = tokens.length;
      reqs.set(id, r);
      return kv.getBlockIds(r.reqId);
    },
    append(id, tokens) {
      const r = reqs.get(id)!;
      sync(r, tokens);
      if (kv.allocateSlots(r, 1) === null) return false;
      r.numComputedTokens++;
      return true;
    },
    table: (id) => kv.getBlockIds(requestId(id)),
    free(id) {
      kv.free(reqs.get(id)!);
      reqs.delete(id);
    },
    get numFreeBlocks() {
      return kv.numFreeBlocks;
    },
    resetPrefixCache: () => kv.resetPrefixCache(),
  };
}

function v0(numBlocks: number): Flavour {
  const m = new PrefixCachingBlockSpaceManager({ numGpuBlocks: numBlocks, blockSize: BS, watermark: 0, hashSeed: 'conf' });
  const seqs = new Map<string, { seqId: RequestId; tokenIds: number[] }>();
  let now = 0;
  return {
    admit(id, tokens) {
      const seq = { seqId: requestId(id), tokenIds: [...tokens] };
      if (!m.allocate([seq])) return null;
      m.markScheduled([[seq.seqId, tokens.length]], now++);
      seqs.set(id, seq);
      return m.getBlockTable(seq.seqId);
    },
    append(id, tokens) {
      const seq = seqs.get(id)!;
      seq.tokenIds.push(tokens[tokens.length - 1]!);
      if (!m.canAppendSlots([seq])) {
        seq.tokenIds.pop();
        return false;
      }
      const copies: [BlockId, BlockId][] = [];
      m.appendSlots(seq, 0, copies);
      expect(copies).toEqual([]); // no forks here, so nothing is shared while written
      m.markScheduled([[seq.seqId, 1]], now++);
      return true;
    },
    table: (id) => m.getBlockTable(requestId(id)),
    free(id) {
      m.free(requestId(id));
      seqs.delete(id);
    },
    get numFreeBlocks() {
      return m.numFreeGpuBlocks;
    },
    resetPrefixCache: () => m.resetPrefixCache(),
  };
}

describe.each([
  ['V1 KVCacheManager', v1],
  ['V0 PrefixCachingBlockSpaceManager', v0],
] as const)('KV-cache conformance: %s', (_, make) => {
  it('shares the leading full blocks of a computed prefix with a later identical prompt', () => {
    const f = make(16);
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const a = [...f.admit('a', prompt)!];
    f.free('a');
    const b = f.admit('b', [...prompt, 11, 12]);
    expect(b!.slice(0, 2)).toEqual(a.slice(0, 2));
    f.free('b');
    expect(f.numFreeBlocks).toBe(15);
  });

  it('returns null on shortfall, and every block once all sequences are freed', () => {
    const f = make(5);
    expect(f.admit('a', [1, 2, 3, 4, 5, 6, 7, 8, 9])).not.toBeNull();
    expect(f.admit('b', [9, 9, 9, 9, 9, 9])).toBeNull();
    expect(f.resetPrefixCache()).toBe(false);
    f.free('a');
    expect(f.numFreeBlocks).toBe(4);
    expect(f.resetPrefixCache()).toBe(true);
  });

  it('random traffic: shared blocks always hold equal prefixes; all blocks come back', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('admit' as const), template: fc.nat(2), len: fc.integer({ min: 1, max: 14 }) }),
      fc.record({ kind: fc.constant('append' as const), who: fc.nat(20), token: fc.nat(3) }),
      fc.record({ kind: fc.constant('free' as const), who: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const N = 20;
        const f = make(N);
        const live = new Map<string, number[]>();
        let next = 0;
        for (const o of ops) {
          const ids = [...live.keys()];
          if (o.kind === 'admit') {
            const tokens = Array.from({ length: o.len }, (_, i) => (o.template * 5 + i) % 7);
            const id = `s${next++}`;
            if (f.admit(id, tokens) !== null) live.set(id, tokens);
          } else if (ids.length > 0) {
            const id = ids[o.who % ids.length]!;
            if (o.kind === 'free') {
              f.free(id);
              live.delete(id);
            } else if (live.get(id)!.length < 30) {
              const tokens = [...live.get(id)!, o.token];
              if (f.append(id, tokens)) live.set(id, tokens);
            }
          }
          // A block in two live tables holds the same full prefix in both.
          const owner = new Map<number, string>();
          for (const [id, tokens] of live) {
            const table = f.table(id);
            expect(table.length).toBeGreaterThanOrEqual(Math.ceil(tokens.length / BS));
            table.forEach((b, i) => {
              const key = tokens.slice(0, (i + 1) * BS).join();
              const prev = owner.get(b);
              if (prev !== undefined) expect(prev).toBe(key);
              if ((i + 1) * BS <= tokens.length) owner.set(b, key);
              else owner.set(b, `partial:${id}`);
            });
          }
          expect(f.numFreeBlocks).toBeLessThanOrEqual(N - 1 - new Set([...live.keys()].flatMap((id) => [...f.table(id)])).size);
        }
        for (const id of live.keys()) f.free(id);
        expect(f.numFreeBlocks).toBe(N - 1);
      }),
      { numRuns: 150 },
    );
  });
});
