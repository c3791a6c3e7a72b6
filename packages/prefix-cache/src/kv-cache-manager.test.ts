import { requestId, type BlockHash, type KVCacheRequest, type RequestId } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { BlockHasher } from './block-hasher.js';
import { KVCacheManager } from './kv-cache-manager.js';
import { RequestBlockHasher } from './request-block-hasher.js';

const hasher = new BlockHasher({ hashSeed: 'test' });

/** A request as the scheduler keeps it: tokens, hashes current, computed count. */
class Req implements KVCacheRequest {
  readonly reqId: RequestId;
  readonly tokens: number[];
  readonly blockHashes: BlockHash[] = [];
  numComputedTokens = 0;
  numPreemptions = 0;
  skipReadingPrefixCache = false;
  private readonly rh: RequestBlockHasher;
  constructor(id: string, tokens: number[], blockSize = 4, salt?: string) {
    this.reqId = requestId(id);
    this.tokens = [...tokens];
    this.rh = new RequestBlockHasher(hasher, blockSize, { cacheSalt: salt ?? null });
    this.rh.extend(this.tokens, this.blockHashes);
  }
  get numTokens(): number {
    return this.tokens.length;
  }
  append(...t: number[]): void {
    this.tokens.push(...t);
    this.rh.extend(this.tokens, this.blockHashes);
  }
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** Admits a waiting request the way the scheduler does; returns its block table or null. */
function admit(kv: KVCacheManager, r: Req, maxTokens = Infinity): number[] | null {
  const hit = kv.getComputedBlocks(r);
  const want = Math.min(r.numTokens - hit.numHitTokens, maxTokens);
  const got = kv.allocateSlots(r, want, { newComputedBlocks: hit.blocks, numNewComputedTokens: hit.numHitTokens });
  if (got === null) return null;
  r.numComputedTokens = hit.numHitTokens + want;
  return [...kv.getBlockIds(r.reqId)];
}

describe('KVCacheManager (V1), block size 4, 10 blocks', () => {
  const make = (numBlocks = 10): KVCacheManager => new KVCacheManager({ numBlocks, blockSize: 4, maxModelLen: 64 });

  it('caches full prompt blocks and lets a later request hit them', () => {
    const kv = make();
    const a = new Req('a', range(0, 10));
    expect(admit(kv, a)).toEqual([1, 2, 3]);
    expect(kv.getNumCachedBlocks(a.reqId)).toBe(2); // the partial third block is not cached
    kv.free(a);
    expect(kv.pool.freeBlockIds()).toEqual([4, 5, 6, 7, 8, 9, 3, 2, 1]);

    const b = new Req('b', range(0, 12));
    const hit = kv.getComputedBlocks(b);
    expect(hit.blocks.getBlockIds()).toEqual([1, 2]);
    expect(hit.numHitTokens).toBe(8);
    expect(kv.pool.freeBlockIds()).toEqual([4, 5, 6, 7, 8, 9, 3, 2, 1]); // lookup has no side effects
    expect(kv.allocateSlots(b, 4, { newComputedBlocks: hit.blocks, numNewComputedTokens: 8 })!.getBlockIds()).toEqual([4]);
    expect(kv.getBlockIds(b.reqId)).toEqual([1, 2, 4]);
    expect([1, 2, 4].map((id) => kv.pool.refCount(id as never))).toEqual([1, 1, 1]);
    expect(kv.pool.freeBlockIds()).toEqual([5, 6, 7, 8, 9, 3]);
    expect(kv.getNumCachedBlocks(b.reqId)).toBe(3);
    expect(kv.prefixCacheStats).toEqual({ queries: 22, hits: 8, preemptedQueries: 0, preemptedHits: 0, resets: 0 });
  });

  it('never hits a partial block nor the last token', () => {
    const kv = make();
    const a = new Req('a', range(0, 8));
    admit(kv, a);
    expect(kv.getNumCachedBlocks(a.reqId)).toBe(2);
    // Same 8 tokens: the last token must run, so only the first block hits.
    expect(kv.getComputedBlocks(new Req('b', range(0, 8))).numHitTokens).toBe(4);
    expect(kv.getComputedBlocks(new Req('c', range(0, 9))).numHitTokens).toBe(8);
    expect(kv.getComputedBlocks(new Req('d', range(0, 3))).numHitTokens).toBe(0);
    // A different first block misses everything after it (the chain).
    expect(kv.getComputedBlocks(new Req('e', [99, ...range(1, 12)])).numHitTokens).toBe(0);
  });

  it('shares blocks between live requests: ref counts and free order', () => {
    const kv = make();
    const a = new Req('a', range(0, 9));
    const b = new Req('b', range(0, 9));
    expect(admit(kv, a)).toEqual([1, 2, 3]);
    // Admitted in the same step: b hits a's freshly cached blocks.
    expect(admit(kv, b)).toEqual([1, 2, 4]);
    expect(kv.pool.refCount(1 as never)).toBe(2);
    kv.free(a);
    expect(kv.pool.freeBlockIds()).toEqual([5, 6, 7, 8, 9, 3]);
    kv.free(b);
    expect(kv.pool.freeBlockIds()).toEqual([5, 6, 7, 8, 9, 3, 4, 2, 1]);
    kv.free(b); // idempotent
    expect(kv.numFreeBlocks).toBe(9);
  });

  it('evicts the least recently freed blocks first, tail blocks of a request before its head', () => {
    const kv = make(7); // 6 usable blocks
    const a = new Req('a', range(0, 9)); // blocks 1,2 cached, 3 partial
    const b = new Req('b', range(100, 109)); // blocks 4,5 cached, 6 partial
    admit(kv, a);
    admit(kv, b);
    kv.free(a);
    kv.free(b);
    expect(kv.pool.freeBlockIds()).toEqual([3, 2, 1, 6, 5, 4]);
    // c needs 2 blocks: takes 3 (uncached) and 2 (a's second block, evicted).
    const c = new Req('c', range(200, 208));
    expect(admit(kv, c)).toEqual([3, 2]);
    expect(kv.getComputedBlocks(new Req('a2', range(0, 9))).numHitTokens).toBe(4); // block 1 survives
    expect(kv.getComputedBlocks(new Req('b2', range(100, 109))).numHitTokens).toBe(8);
    // A hit moves b's blocks out of the queue; they become the most recently used.
    const b3 = new Req('b3', range(100, 110));
    expect(admit(kv, b3)).toEqual([4, 5, 1]);
    expect(kv.getComputedBlocks(new Req('a3', range(0, 9))).numHitTokens).toBe(0); // 1 was evicted
    expect(kv.pool.freeBlockIds()).toEqual([6]);
  });

  it('returns null with no side effects when the pool is short', () => {
    const kv = make(5); // 4 usable
    const a = new Req('a', range(0, 12));
    admit(kv, a);
    const before = kv.pool.freeBlockIds();
    const b = new Req('b', range(50, 60));
    expect(admit(kv, b)).toBeNull();
    expect(kv.pool.freeBlockIds()).toEqual(before);
    expect(kv.getBlockIds(b.reqId)).toEqual([]);
    // Reviving a free cached hit consumes capacity too.
    kv.free(a);
    const big = new Req('big', range(0, 20)); // hits 3 cached blocks, needs 2 more: 5 > 4
    expect(admit(kv, big)).toBeNull();
    expect(kv.pool.freeBlockIds()).toEqual([4, 3, 2, 1]);
  });

  it('grows a decode by one block when one fills, caching only finalized tokens', () => {
    const kv = make();
    const a = new Req('a', range(0, 7));
    admit(kv, a);
    expect(kv.getBlockIds(a.reqId)).toEqual([1, 2]);
    a.append(7); // token 8 completes block 2 once computed
    expect(kv.allocateSlots(a, 1)).toMatchObject({ length: 0 });
    a.numComputedTokens += 1;
    expect(kv.getNumCachedBlocks(a.reqId)).toBe(2);
    a.append(8);
    expect(kv.allocateSlots(a, 1)!.getBlockIds()).toEqual([3]);
    a.numComputedTokens += 1;
    // Drafts and lookahead slots get blocks but are never cached.
    a.append(9);
    expect(kv.allocateSlots(a, 4, { numLookaheadTokens: 4 })!.getBlockIds()).toEqual([4, 5]);
    expect(kv.getNumCachedBlocks(a.reqId)).toBe(2);
  });

  it('a decode step inside its last block changes nothing (decodeLimit); the step that fills it caches it', () => {
    const kv = make();
    const a = new Req('a', range(0, 5)); // block 1 full, block 2 holds 1 token
    admit(kv, a);
    const table = [...kv.getBlockIds(a.reqId)];
    const free = kv.numFreeBlocks;
    for (let t = 5; t < 7; t++) {
      a.append(t); // block 2 not full yet: room for the position computed, nothing to cache
      expect(kv.decodeLimit(a)).toBe(7); // 2 blocks held; block 2 ends at position 7
      expect(a.numComputedTokens + 1).toBeLessThanOrEqual(7);
      expect(kv.allocateSlots(a, 1)?.length).toBe(0);
      a.numComputedTokens += 1;
      expect(kv.getBlockIds(a.reqId)).toEqual(table);
      expect(kv.numFreeBlocks).toBe(free);
      expect(kv.getNumCachedBlocks(a.reqId)).toBe(1);
    }
    a.append(7); // block 2 full: cached, no new block yet
    expect(a.numComputedTokens + 1).toBeGreaterThan(kv.decodeLimit(a));
    expect(kv.allocateSlots(a, 1)?.length).toBe(0);
    a.numComputedTokens += 1;
    expect(kv.getNumCachedBlocks(a.reqId)).toBe(2);
    expect(kv.decodeLimit(a)).toBe(8); // block 2 cached: now the slots held bound it
    expect(kv.numFreeBlocks).toBe(free);
    a.append(8); // the next position needs block 3
    expect(a.numComputedTokens + 1).toBeGreaterThan(kv.decodeLimit(a));
    expect(kv.allocateSlots(a, 1)?.getBlockIds()).toEqual([3]);
    expect(kv.decodeLimit(a)).toBe(11);
    expect(kv.decodeLimit(new Req('unknown', range(0, 3)))).toBe(-1); // holds nothing here
    expect(kv.numFreeBlocks).toBe(free - 1);
  });

  it('keeps a long decode\'s block table exact, read mid-run or only at the end, and frees all of it', () => {
    // 60 blocks one decode step at a time: the table's tail waits in the manager's pending column
    // and joins the table in batches, which neither reader nor free may notice.
    for (const readEvery of [7, 0]) {
      const kv = new KVCacheManager({ numBlocks: 80, blockSize: 2, maxModelLen: 200 });
      const a = new Req('a', range(0, 3), 2);
      const table = [...admit(kv, a)!];
      for (let t = 3; t < 120; t++) {
        a.append(t);
        const fresh = kv.allocateSlots(a, 1);
        expect(fresh).not.toBeNull();
        table.push(...fresh!.getBlockIds());
        a.numComputedTokens++;
        if (readEvery > 0 && t % readEvery === 0) expect(kv.getBlockIds(a.reqId)).toEqual(table);
      }
      expect(table).toHaveLength(60);
      expect(new Set(table).size).toBe(60);
      expect(kv.getBlockIds(a.reqId)).toEqual(table);
      expect(kv.getNumCachedBlocks(a.reqId)).toBe(60); // every token known and computed
      kv.free(a);
      expect(kv.numFreeBlocks).toBe(79);
      expect(kv.pool.freeBlockIds().slice(-60)).toEqual([...table].reverse()); // tail first
    }
  });

  it('caps slots at maxModelLen', () => {
    const kv = new KVCacheManager({ numBlocks: 10, blockSize: 4, maxModelLen: 10 });
    const a = new Req('a', range(0, 9));
    admit(kv, a);
    a.append(1);
    expect(kv.allocateSlots(a, 1, { numLookaheadTokens: 8 })!.getBlockIds()).toEqual([]);
    expect(kv.getBlockIds(a.reqId)).toEqual([1, 2, 3]);
  });

  it('preempt and resume: the request hits its own freed blocks; stats counted apart', () => {
    const kv = make();
    const a = new Req('a', range(0, 6));
    admit(kv, a);
    a.append(6, 7, 8); // 9 tokens, decoding
    for (let i = 0; i < 3; i++) {
      kv.allocateSlots(a, 1);
      a.numComputedTokens++;
    }
    expect(kv.getBlockIds(a.reqId)).toEqual([1, 2, 3]);
    kv.free(a); // preempted
    a.numComputedTokens = 0;
    a.numPreemptions = 1;
    // Blocks 1 and 2 hit; the partial block 3 was not cached, so a fresh block comes from the head.
    expect(admit(kv, a)).toEqual([1, 2, 4]);
    expect(kv.prefixCacheStats).toEqual({ queries: 6, hits: 0, preemptedQueries: 9, preemptedHits: 8, resets: 0 });
  });

  it('skips the lookup for requests that must not read the cache, and when caching is off', () => {
    const kv = make();
    admit(kv, new Req('a', range(0, 9)));
    const p = new Req('p', range(0, 9));
    p.skipReadingPrefixCache = true;
    expect(kv.getComputedBlocks(p).numHitTokens).toBe(0);
    const off = new KVCacheManager({ numBlocks: 10, blockSize: 4, maxModelLen: 64, enablePrefixCaching: false });
    const x = new Req('x', range(0, 9));
    admit(off, x);
    expect(off.pool.numCachedBlocks).toBe(0);
    off.free(x);
    expect(off.getComputedBlocks(new Req('y', range(0, 9))).numHitTokens).toBe(0);
  });

  it('keeps salted tenants apart', () => {
    const kv = make();
    admit(kv, new Req('a', range(0, 9), 4, 'tenant-a'));
    expect(kv.getComputedBlocks(new Req('b', range(0, 9), 4, 'tenant-b')).numHitTokens).toBe(0);
    expect(kv.getComputedBlocks(new Req('c', range(0, 9), 4, 'tenant-a')).numHitTokens).toBe(8);
  });

  it('refuses a reset while blocks are held', () => {
    const kv = make();
    const a = new Req('a', range(0, 9));
    admit(kv, a);
    expect(kv.resetPrefixCache()).toBe(false);
    expect(kv.getComputedBlocks(new Req('b', range(0, 9))).numHitTokens).toBe(8);
    kv.free(a);
    expect(kv.resetPrefixCache()).toBe(true);
    expect(kv.getComputedBlocks(new Req('c', range(0, 9))).numHitTokens).toBe(0);
    expect(kv.prefixCacheStats.resets).toBe(1);
  });

  it('refuses misuse', () => {
    const kv = make();
    expect(() => kv.allocateSlots(new Req('a', [1]), 0)).toThrow(/numNewTokens must be an integer >= 1 \(got 0\)/);
    expect(() => new KVCacheManager({ numBlocks: 1, blockSize: 4, maxModelLen: 8 })).toThrow(/numBlocks must be an integer >= 2/);
    expect(() => new KVCacheManager({ numBlocks: 4, blockSize: 0, maxModelLen: 8 })).toThrow(/blockSize/);
  });
});
