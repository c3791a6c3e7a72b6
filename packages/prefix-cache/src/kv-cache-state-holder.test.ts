import { requestId, type BlockHash, type KVCacheRequest, type RequestId } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { KVCacheManager, type KVCacheStateHolder } from './kv-cache-manager.js';

/** A request that lends the manager its `kvCacheState` field (no prefix hashes: caching off). */
class HolderReq implements KVCacheRequest, KVCacheStateHolder {
  readonly reqId: RequestId;
  readonly blockHashes: readonly BlockHash[] = [];
  numTokens: number;
  numComputedTokens = 0;
  numPreemptions = 0;
  skipReadingPrefixCache = false;
  kvCacheState: unknown = null;
  constructor(id: string, numTokens: number) {
    this.reqId = requestId(id);
    this.numTokens = numTokens;
  }
}

const make = (): KVCacheManager => new KVCacheManager({ numBlocks: 10, blockSize: 4, maxModelLen: 64, enablePrefixCaching: false });

function grow(kv: KVCacheManager, r: HolderReq, n: number): number[] | null {
  const got = kv.allocateSlots(r, n);
  if (got === null) return null;
  r.numComputedTokens += n;
  r.numTokens = Math.max(r.numTokens, r.numComputedTokens);
  return [...got.getBlockIds()];
}

describe('KVCacheManager with a KVCacheStateHolder request', () => {
  it('records its state on the request while it holds blocks and clears it on free', () => {
    const kv = make();
    const r = new HolderReq('a', 5);
    expect(grow(kv, r, 5)).toEqual([1, 2]);
    expect(r.kvCacheState).not.toBeNull();
    expect(grow(kv, r, 4)).toEqual([3]);
    expect(kv.getBlockIds(r.reqId)).toEqual([1, 2, 3]);
    kv.free(r);
    expect(r.kvCacheState).toBeNull();
    expect(kv.getBlockIds(r.reqId)).toEqual([]);
    expect(kv.numFreeBlocks).toBe(9);
  });

  it('never trusts a state left on another object, another id or another manager', () => {
    const kv = make();
    const other = make();
    const a = new HolderReq('a', 4);
    grow(kv, a, 4);
    // A different request object carrying a's live state under another id: looked up by id instead.
    const b = new HolderReq('b', 4);
    b.kvCacheState = a.kvCacheState;
    expect(grow(kv, b, 4)).toEqual([2]);
    expect(kv.getBlockIds(a.reqId)).toEqual([1]);
    expect(kv.getBlockIds(b.reqId)).toEqual([2]);
    // The same request handed to a second manager: that manager starts its own table.
    const a2 = new HolderReq('a', 4);
    a2.kvCacheState = a.kvCacheState;
    expect(grow(other, a2, 4)).toEqual([1]);
    expect(other.getBlockIds(a2.reqId)).toEqual([1]);
    expect(kv.getBlockIds(a.reqId)).toEqual([1]);
    // A freed state is stale: the id reused by a new object gets a fresh table.
    const stale = a.kvCacheState;
    kv.free(a);
    const again = new HolderReq('a', 4);
    again.kvCacheState = stale;
    expect(grow(kv, again, 4)).toEqual([3]);
    expect(kv.getBlockIds(again.reqId)).toEqual([3]);
  });
});
