import { requestId, type BlockHash, type KVCacheRequest, type RequestId } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { KVCacheManager, type BlockHashTail, type KVCacheStateHolder } from './kv-cache-manager.js';

/**
 * A request that appends to its `blockHashes` array lazily: the newest hash lives only in the
 * `BlockHashTail` fields until `flush()`.
 */
class LazyReq implements KVCacheRequest, KVCacheStateHolder, BlockHashTail {
  readonly reqId: RequestId;
  readonly blockHashes: BlockHash[] = [];
  numBlockHashes = 0;
  lastBlockHash: BlockHash | null = null;
  numTokens: number;
  numComputedTokens = 0;
  numPreemptions = 0;
  skipReadingPrefixCache = false;
  kvCacheState: unknown = null;
  constructor(id: string, numTokens: number, hashes: string[]) {
    this.reqId = requestId(id);
    this.numTokens = numTokens;
    for (const x of hashes) this.addHash(x);
    this.flush();
  }
  addHash(x: string): void {
    if (this.lastBlockHash !== null && this.blockHashes.length < this.numBlockHashes) this.blockHashes.push(this.lastBlockHash);
    this.lastBlockHash = x as BlockHash;
    this.numBlockHashes++;
  }
  flush(): void {
    if (this.blockHashes.length < this.numBlockHashes) this.blockHashes.push(this.lastBlockHash!);
  }
}

describe('KVCacheManager with a BlockHashTail request', () => {
  it('caches the block a decode filled from lastBlockHash, without reading the lagging array', () => {
    const kv = new KVCacheManager({ numBlocks: 16, blockSize: 4, maxModelLen: 64 });
    const r = new LazyReq('a', 7, ['P0']);
    expect([...kv.allocateSlots(r, 7)!.getBlockIds()]).toEqual([1, 2]);
    r.numComputedTokens = 7;
    expect(kv.getNumCachedBlocks(r.reqId)).toBe(1);
    // Token 8 arrives and fills block 1; its hash is not in the array yet.
    r.numTokens = 8;
    r.addHash('P1');
    expect(r.blockHashes).toEqual(['P0']);
    expect([...kv.allocateSlots(r, 1)!.getBlockIds()]).toEqual([]);
    r.numComputedTokens = 8;
    expect(kv.getNumCachedBlocks(r.reqId)).toBe(2);
    expect(kv.pool.getCachedBlock('P1' as BlockHash)).toBe(2);
    // Two blocks at once (a prefill chunk) go through the array: it must be current then.
    r.numTokens = 16;
    r.addHash('P2');
    r.addHash('P3');
    r.flush();
    expect([...kv.allocateSlots(r, 8)!.getBlockIds()]).toEqual([3, 4]);
    expect(kv.getNumCachedBlocks(r.reqId)).toBe(4);
    expect(kv.pool.getCachedBlock('P3' as BlockHash)).toBe(4);
    // Another request with the same prefix hits every cached block but its last token's.
    const s = new LazyReq('b', 16, ['P0', 'P1', 'P2', 'P3']);
    expect(kv.getComputedBlocks(s).numHitTokens).toBe(12);
  });
});
