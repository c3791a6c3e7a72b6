import { describe, expect, it } from 'vitest';
import { blockId, requestId } from './ids.js';
import { cachedRequestColumnsOf, cachedRequestDataFromColumns, makeEmptySchedulerOutput, type CachedRequestData } from './scheduler-output.js';

const entries: CachedRequestData[] = [
  { reqId: requestId('a'), resumed: false, newBlockIds: [], numComputedTokens: 17, allTokenIds: null },
  { reqId: requestId('b'), resumed: false, newBlockIds: [blockId(4)], numComputedTokens: 32, allTokenIds: null },
  { reqId: requestId('c'), resumed: true, newBlockIds: [blockId(7), blockId(8)], numComputedTokens: 0, allTokenIds: [1, 2, 3] },
  { reqId: requestId('d'), resumed: true, newBlockIds: [blockId(9)], numComputedTokens: 16, allTokenIds: null },
];

describe('cached-request columns', () => {
  it('are built from scheduledCachedReqs when a scheduler gives none, sparse parts by entry', () => {
    const cols = cachedRequestColumnsOf({ ...makeEmptySchedulerOutput(), scheduledCachedReqs: entries });
    expect(cols.length).toBe(4);
    expect(cols.reqIds).toEqual(['a', 'b', 'c', 'd']);
    expect(Array.from(cols.numComputedTokens)).toEqual([17, 32, 0, 16]);
    expect(cols.blockEntries).toEqual([1, 2, 3]);
    expect(cols.blockIds).toEqual([[4], [7, 8], [9]]);
    expect(cols.resumedEntries).toEqual([2, 3]);
    expect(cols.resumedTokenIds).toEqual([[1, 2, 3], null]);
    expect(cachedRequestDataFromColumns(cols)).toEqual(entries);
  });

  it('are the scheduler’s own when given, and read only up to their length', () => {
    const own = {
      length: 2,
      reqIds: [requestId('x'), requestId('y'), requestId('ignored')],
      numComputedTokens: new Int32Array([5, 6, 99]),
      blockEntries: [1],
      blockIds: [[blockId(3)]],
      resumedEntries: [],
      resumedTokenIds: [],
    };
    const out = { ...makeEmptySchedulerOutput(), cachedReqColumns: own };
    expect(cachedRequestColumnsOf(out)).toBe(own);
    expect(cachedRequestDataFromColumns(own)).toEqual([
      { reqId: 'x', resumed: false, newBlockIds: [], numComputedTokens: 5, allTokenIds: null },
      { reqId: 'y', resumed: false, newBlockIds: [3], numComputedTokens: 6, allTokenIds: null },
    ]);
  });
});
