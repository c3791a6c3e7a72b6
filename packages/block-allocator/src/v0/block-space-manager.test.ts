import { VllmError, requestId, type RequestId } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { watermarkStatus } from './alloc-status.js';
import { BlockSpaceManager } from './block-space-manager.js';
import type { BlockPair, V0Sequence } from './block-table.js';

const seq = (id: string, numTokens: number): V0Sequence & { tokenIds: number[] } => ({
  seqId: requestId(id),
  tokenIds: Array.from({ length: numTokens }, (_, i) => i),
});
const ids = (...xs: string[]): RequestId[] => xs.map(requestId);

describe('watermarkStatus', () => {
  it('says never when even an empty pool would dip below the watermark', () => {
    expect(watermarkStatus(10, 10, 10, 1)).toBe('never');
    expect(watermarkStatus(9, 10, 10, 1)).toBe('ok');
    expect(watermarkStatus(9, 9, 10, 1)).toBe('later');
  });
});

describe('BlockSpaceManager', () => {
  it('admits above the watermark only, and allocates whole tables', () => {
    // 10 usable blocks, watermark floor(0.1 * 11) = 1 block.
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 11, watermark: 0.1 });
    expect(bm.watermarkBlocks).toBe(1);
    const a = seq('a', 9);
    expect(bm.canAllocate([a])).toBe('ok');
    expect(bm.allocate([a])).toBe(true);
    expect(bm.getBlockTable(a.seqId)).toEqual([1, 2, 3]);
    expect(bm.canAllocate([seq('huge', 40)])).toBe('never'); // 10 blocks: nothing left for the watermark
    expect(bm.canAllocate([seq('b', 28)])).toBe('later'); // 7 blocks: 7 free - 7 < 1
    expect(bm.canAllocate([seq('c', 24)])).toBe('ok'); // 6 blocks: 7 - 6 >= 1
    expect(bm.allocate([seq('b', 28)])).toBe(true); // allocate itself only needs the blocks
    expect(bm.numFreeGpuBlocks).toBe(0);
    expect(bm.allocate([seq('d', 1)])).toBe(false);
    expect(bm.gpuUsage).toBe(1);
  });

  it('forks copy-on-write: writers of a shared partial block get copies, the last holder writes in place', () => {
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 8, watermark: 0 });
    const a = seq('a', 6);
    bm.allocate([a]);
    bm.fork(a.seqId, requestId('b'));
    bm.fork(a.seqId, requestId('c'));
    expect(bm.getBlockTable(requestId('c'))).toEqual([1, 2]);
    expect(bm.numFreeGpuBlocks).toBe(5);
    const b = { seqId: requestId('b'), tokenIds: [...a.tokenIds, 70] };
    const c = { seqId: requestId('c'), tokenIds: [...a.tokenIds, 80] };
    a.tokenIds.push(60);
    // Three sequences each touch one block: a copy or a new one, counted pessimistically.
    expect(bm.canAppendSlots([a, b, c])).toBe(true);
    const copies: BlockPair[] = [];
    expect(bm.appendSlots(a, 0, copies)).toBe(true);
    expect(bm.appendSlots(b, 0, copies)).toBe(true);
    expect(bm.appendSlots(c, 0, copies)).toBe(false);
    expect(copies).toEqual([
      [2, 3],
      [2, 4],
    ]);
    expect(bm.getBlockTable(a.seqId)).toEqual([1, 3]);
    expect(bm.getBlockTable(b.seqId)).toEqual([1, 4]);
    expect(bm.getBlockTable(c.seqId)).toEqual([1, 2]);
    expect(bm.numFreeGpuBlocks).toBe(3);
    // Filling the block and starting the next appends a fresh block, no copy.
    a.tokenIds.push(61, 62);
    expect(bm.appendSlots(a, 0, copies)).toBe(false);
    expect(bm.getBlockTable(a.seqId)).toEqual([1, 3, 5]);
    expect(copies).toHaveLength(2);
  });

  it('needs no copy when the fork point is block-aligned', () => {
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 8, watermark: 0 });
    const a = seq('a', 8);
    bm.allocate([a]);
    bm.fork(a.seqId, requestId('b'));
    const b = { seqId: requestId('b'), tokenIds: [...a.tokenIds, 9] };
    a.tokenIds.push(8);
    const copies: BlockPair[] = [];
    expect(bm.appendSlots(a, 0, copies)).toBe(false);
    expect(bm.appendSlots(b, 0, copies)).toBe(false);
    expect(copies).toEqual([]);
    expect(bm.getBlockTable(a.seqId)).toEqual([1, 2, 3]);
    expect(bm.getBlockTable(b.seqId)).toEqual([1, 2, 4]);
  });

  it('counts every touched block as new when checking appends (V0 pessimism), lookahead included', () => {
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 4, watermark: 0 });
    const a = seq('a', 6);
    bm.allocate([a]);
    expect(bm.numFreeGpuBlocks).toBe(1);
    a.tokenIds.push(1);
    expect(bm.canAppendSlots([a])).toBe(true); // lands in block 2: one touched
    expect(bm.canAppendSlots([a], 1)).toBe(true); // slots 6, 7: still block 2
    expect(bm.canAppendSlots([a], 2)).toBe(false); // slots 6..8: block 2, then a new one
  });

  it('swaps a forked group out and back keeping its sharing, each distinct block moved once', () => {
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 8, numCpuBlocks: 6, watermark: 0 });
    const a = seq('a', 6);
    bm.allocate([a]);
    bm.fork(a.seqId, requestId('b'));
    expect(bm.canSwapOut(ids('a', 'b'))).toBe(true);
    const out: BlockPair[] = [];
    expect(bm.swapOut(ids('a', 'b'), out)).toBe(true);
    expect(out).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(bm.numFreeGpuBlocks).toBe(7);
    expect(bm.numFreeCpuBlocks).toBe(3);
    expect(bm.getBlockTable(requestId('b'))).toEqual([1, 2]);
    // Another sequence takes device blocks meanwhile (the free queue was 3..7, then 2, 1).
    bm.allocate([seq('x', 12)]);
    expect(bm.getBlockTable(requestId('x'))).toEqual([3, 4, 5]);
    expect(bm.canSwapIn([a, { seqId: requestId('b'), tokenIds: a.tokenIds }])).toBe('ok');
    const back: BlockPair[] = [];
    expect(bm.swapIn(ids('a', 'b'), back)).toBe(true);
    expect(back).toEqual([
      [1, 6],
      [2, 7],
    ]);
    expect(bm.getBlockTable(a.seqId)).toEqual([6, 7]);
    expect(bm.getBlockTable(requestId('b'))).toEqual([6, 7]);
    expect(bm.numFreeCpuBlocks).toBe(5);
    // Still shared: b's write copies.
    const copies: BlockPair[] = [];
    expect(bm.appendSlots({ seqId: requestId('b'), tokenIds: [...a.tokenIds, 5] }, 0, copies)).toBe(true);
    expect(copies).toEqual([[7, 2]]);
  });

  it('refuses to swap without a CPU pool, and frees tables tail first and idempotently', () => {
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 8, watermark: 0 });
    const a = seq('a', 10);
    bm.allocate([a]);
    expect(bm.canSwapOut(ids('a'))).toBe(false);
    expect(bm.swapOut(ids('a'), [])).toBe(false);
    expect(bm.numCpuBlocks).toBe(0);
    bm.free(a.seqId);
    bm.free(a.seqId);
    expect(bm.hasTable(a.seqId)).toBe(false);
    expect(bm.numFreeGpuBlocks).toBe(7);
    // Freed tail first, so the next allocation (from the free queue's head) gets 4.. before 3, 2, 1.
    bm.allocate([seq('b', 20)]);
    expect(bm.getBlockTable(requestId('b'))).toEqual([4, 5, 6, 7, 3]);
  });

  it('throws typed errors for misuse', () => {
    const bm = new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 8, numCpuBlocks: 4 });
    const a = seq('a', 4);
    bm.allocate([a]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return VllmError.isInstance(e) ? e.code : 'not a VllmError';
      }
      return 'no throw';
    };
    expect(code(() => bm.allocate([a]))).toBe('duplicate_sequence');
    expect(code(() => bm.getBlockTable(requestId('nope')))).toBe('unknown_sequence');
    expect(code(() => bm.fork(a.seqId, a.seqId))).toBe('duplicate_sequence');
    bm.swapOut(ids('a'), []);
    expect(code(() => bm.appendSlots(a, 0, []))).toBe('wrong_device');
    expect(code(() => bm.swapOut(ids('a'), []))).toBe('wrong_device');
    expect(code(() => new BlockSpaceManager({ blockSize: 0, numGpuBlocks: 8 }))).toBe('invalid_option');
    expect(code(() => new BlockSpaceManager({ blockSize: 4, numGpuBlocks: 8, watermark: 1 }))).toBe('invalid_option');
  });
});
