import { blockId, requestId, type BlockHash, type BlockId, type KVCacheRequest, type RequestId } from '@vllm-ts/core';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { BlockHasher } from './block-hasher.js';
import { KVCacheManager } from './kv-cache-manager.js';
import { RequestBlockHasher } from './request-block-hasher.js';

const BS = 4;
const NUM_BLOCKS = 16;
const hasher = new BlockHasher({ algorithm: 'murmur3_128', hashSeed: 'p' });

class Req implements KVCacheRequest {
  readonly reqId: RequestId;
  readonly tokens: number[];
  readonly blockHashes: BlockHash[] = [];
  numComputedTokens = 0;
  numPreemptions = 0;
  readonly skipReadingPrefixCache = false;
  private readonly rh = new RequestBlockHasher(hasher, BS);
  constructor(id: number, tokens: number[]) {
    this.reqId = requestId(`r${id}`);
    this.tokens = tokens;
    this.rh.extend(tokens, this.blockHashes);
  }
  get numTokens(): number {
    return this.tokens.length;
  }
  append(t: number): void {
    this.tokens.push(t);
    this.rh.extend(this.tokens, this.blockHashes);
  }
  prefixKey(blockIndex: number): string {
    return this.tokens.slice(0, (blockIndex + 1) * BS).join(',');
  }
}

// Prompts drawn from a tiny alphabet over few templates, so prefixes are shared often.
const prompt = fc
  .tuple(fc.nat(3), fc.integer({ min: 1, max: 14 }), fc.array(fc.nat(2), { maxLength: 6 }))
  .map(([template, len, tail]) => [...Array.from({ length: len }, (_, i) => (template * 7 + i) % 5), ...tail]);

const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), prompt }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('step' as const), who: fc.nat(50), chunk: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('finish' as const), who: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('preempt' as const), who: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

it('V1 KVCacheManager keeps block accounting and hit correctness under random traffic', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
      const kv = new KVCacheManager({ numBlocks: NUM_BLOCKS, blockSize: BS, maxModelLen: 40 });
      const waiting: Req[] = [];
      const running: Req[] = [];
      // What each block holds, as the prefix of tokens up to its end (for full, computed blocks).
      const content = new Map<BlockId, string>();
      let nextId = 0;
      let hitTokens = 0;

      const noteContent = (r: Req, upTo: number): void => {
        const table = kv.getBlockIds(r.reqId);
        for (let i = 0; i < Math.floor(upTo / BS); i++) {
          const key = r.prefixKey(i);
          const prev = content.get(table[i]!);
          expect(prev === undefined || prev === key).toBe(true);
          content.set(table[i]!, key);
        }
      };

      for (const o of ops) {
        if (o.kind === 'add') waiting.push(new Req(nextId++, [...o.prompt]));
        else if (o.kind === 'step') {
          const pool = [...running, ...waiting];
          if (pool.length === 0) continue;
          const r = pool[o.who % pool.length]!;
          if (waiting.includes(r)) {
            const hit = kv.getComputedBlocks(r);
            expect(hit.numHitTokens % BS).toBe(0);
            expect(hit.numHitTokens).toBeLessThanOrEqual(r.numTokens - 1);
            hit.blocks.getBlockIds().forEach((id, i) => expect(content.get(id)).toBe(r.prefixKey(i)));
            const want = Math.min(r.numTokens - hit.numHitTokens, o.chunk);
            const before = kv.pool.freeBlockIds();
            const got = kv.allocateSlots(r, want, { newComputedBlocks: hit.blocks, numNewComputedTokens: hit.numHitTokens });
            if (got === null) {
              expect(kv.pool.freeBlockIds()).toEqual(before);
              continue;
            }
            for (const id of got.getBlockIds()) content.delete(id);
            hitTokens += hit.numHitTokens;
            r.numComputedTokens = hit.numHitTokens + want;
            waiting.splice(waiting.indexOf(r), 1);
            running.push(r);
          } else {
            if (r.numComputedTokens >= 39) continue;
            if (r.numComputedTokens === r.numTokens) r.append(o.chunk % 5);
            const want = Math.min(r.numTokens - r.numComputedTokens, o.chunk);
            const got = kv.allocateSlots(r, want);
            if (got === null) continue;
            for (const id of got.getBlockIds()) content.delete(id);
            r.numComputedTokens += want;
          }
          noteContent(r, r.numComputedTokens);
        } else if (o.kind === 'finish' || o.kind === 'preempt') {
          if (running.length === 0) continue;
          const r = running.splice(o.who % running.length, 1)[0]!;
          kv.free(r);
          if (o.kind === 'preempt') {
            r.numComputedTokens = 0;
            r.numPreemptions++;
            waiting.unshift(r);
          }
        } else {
          const ok = kv.resetPrefixCache();
          expect(ok).toBe(running.length === 0);
          if (ok) content.clear();
        }

        // Invariants after every step.
        const holders = new Map<number, number>();
        for (const r of running) {
          const table = kv.getBlockIds(r.reqId);
          expect(table.length).toBeGreaterThanOrEqual(Math.ceil(r.numComputedTokens / BS));
          for (const id of table) holders.set(id, (holders.get(id) ?? 0) + 1);
        }
        for (const r of waiting) expect(kv.getBlockIds(r.reqId)).toEqual([]);
        for (let id = 1; id < NUM_BLOCKS; id++) {
          const b = blockId(id);
          expect(kv.pool.refCount(b)).toBe(holders.get(id) ?? 0);
          expect(kv.pool.isFree(b)).toBe(!holders.has(id));
        }
        expect(kv.numFreeBlocks + holders.size + 1).toBe(NUM_BLOCKS);
        expect(kv.usage).toBeCloseTo(holders.size / (NUM_BLOCKS - 1));
      }
      const stats = kv.prefixCacheStats;
      expect(stats.hits + stats.preemptedHits).toBeGreaterThanOrEqual(hitTokens);
      for (const r of running.splice(0)) kv.free(r);
      expect(kv.numFreeBlocks).toBe(NUM_BLOCKS - 1);
      expect(kv.usage).toBe(0);
    }),
    { numRuns: 300 },
  );
});
