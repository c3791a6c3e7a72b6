import { requestId, type BlockId, type RequestId } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BlockPool } from '../block-pool.js';
import { BlockSpaceManager } from './block-space-manager.js';
import type { BlockPair } from './block-table.js';

const BS = 4;

/** Exposes the pools to the checks. */
class Probe extends BlockSpaceManager {
  get pools(): [BlockPool, BlockPool | null] {
    return [this.gpu, this.cpu];
  }
}

interface ModelSeq {
  seqId: RequestId;
  tokenIds: number[];
  onCpu: boolean;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), len: fc.integer({ min: 1, max: 14 }) }),
  fc.record({ kind: fc.constant('append' as const), pick: fc.nat(), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('fork' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('swapOut' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('swapIn' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
);

describe('BlockSpaceManager under random operations', () => {
  it('keeps ref counts equal to table entries, free + held = pool, and every table holding its own tokens', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 24 }), fc.integer({ min: 0, max: 16 }), fc.array(op, { maxLength: 120 }), (numGpu, numCpu, ops) => {
        const bm = new Probe({ blockSize: BS, numGpuBlocks: numGpu, numCpuBlocks: numCpu, watermark: 0 });
        const [gpu, cpu] = bm.pools;
        // Simulated KV: what each slot of each pool holds (position * 1000 + token).
        const kv = { gpu: new Float64Array(numGpu * BS).fill(-1), cpu: new Float64Array(Math.max(numCpu, 1) * BS).fill(-1) };
        const seqs: ModelSeq[] = [];
        // Sequences forked from the same root share blocks, so they swap together (like a V0 group).
        const groupOf = new Map<RequestId, RequestId>();
        let next = 0;
        const write = (s: ModelSeq, from: number) => {
          const table = bm.getBlockTable(s.seqId);
          for (let p = from; p < s.tokenIds.length; p++) kv.gpu[table[Math.floor(p / BS)]! * BS + (p % BS)] = p * 1000 + s.tokenIds[p]!;
        };
        const copy = (from: Float64Array, to: Float64Array, pairs: BlockPair[]) => {
          for (const [a, b] of pairs) to.set(from.subarray(a * BS, (a + 1) * BS), b * BS);
        };
        const group = (s: ModelSeq) => seqs.filter((x) => groupOf.get(x.seqId) === groupOf.get(s.seqId));
        for (const o of ops) {
          const s = seqs.length === 0 ? undefined : seqs[('pick' in o ? o.pick : 0) % seqs.length]!;
          if (o.kind === 'add') {
            const seq = { seqId: requestId(`s${next++}`), tokenIds: Array.from({ length: o.len }, (_, i) => (next * 7 + i) % 50), onCpu: false };
            const status = bm.canAllocate([seq]);
            const ok = bm.allocate([seq]);
            if (status === 'ok') expect(ok).toBe(true);
            if (status === 'never') expect(ok).toBe(false);
            if (ok) {
              seqs.push(seq);
              groupOf.set(seq.seqId, seq.seqId);
              write(seq, 0);
            }
          } else if (s === undefined) continue;
          else if (o.kind === 'append' && !s.onCpu) {
            const grown = { ...s, tokenIds: [...s.tokenIds, ...Array.from({ length: o.n }, (_, i) => (i * 3 + next) % 50)] };
            if (!bm.canAppendSlots([grown])) continue;
            const copies: BlockPair[] = [];
            const from = s.tokenIds.length;
            s.tokenIds = grown.tokenIds;
            bm.appendSlots(s, 0, copies);
            copy(kv.gpu, kv.gpu, copies);
            write(s, from);
          } else if (o.kind === 'fork' && !s.onCpu) {
            const child = { seqId: requestId(`s${next++}`), tokenIds: [...s.tokenIds], onCpu: false };
            bm.fork(s.seqId, child.seqId);
            seqs.push(child);
            groupOf.set(child.seqId, groupOf.get(s.seqId)!);
          } else if (o.kind === 'swapOut' && !s.onCpu) {
            const g = group(s);
            const pairs: BlockPair[] = [];
            if (!bm.swapOut(g.map((x) => x.seqId), pairs)) continue;
            copy(kv.gpu, kv.cpu, pairs);
            for (const x of g) x.onCpu = true;
          } else if (o.kind === 'swapIn' && s.onCpu) {
            const g = group(s);
            const pairs: BlockPair[] = [];
            if (!bm.swapIn(g.map((x) => x.seqId), pairs)) continue;
            copy(kv.cpu, kv.gpu, pairs);
            for (const x of g) x.onCpu = false;
          } else if (o.kind === 'free') {
            bm.free(s.seqId);
            seqs.splice(seqs.indexOf(s), 1);
          }
          // Invariants after every operation.
          const holders = new Map<string, number>();
          for (const x of seqs) for (const b of bm.getBlockTable(x.seqId)) holders.set(`${x.onCpu}:${b}`, (holders.get(`${x.onCpu}:${b}`) ?? 0) + 1);
          let heldGpu = 0;
          for (let b = 1; b < numGpu; b++) {
            const n = holders.get(`false:${b}`) ?? 0;
            expect(gpu.refCount(b as BlockId)).toBe(n);
            expect(gpu.isFree(b as BlockId)).toBe(n === 0);
            if (n > 0) heldGpu++;
          }
          expect(bm.numFreeGpuBlocks + heldGpu + 1).toBe(numGpu);
          if (cpu !== null) for (let b = 1; b < numCpu; b++) expect(cpu.refCount(b as BlockId)).toBe(holders.get(`true:${b}`) ?? 0);
          for (const x of seqs) {
            const table = bm.getBlockTable(x.seqId);
            expect(table.length).toBe(Math.ceil(x.tokenIds.length / BS));
            const mem = x.onCpu ? kv.cpu : kv.gpu;
            for (let p = 0; p < x.tokenIds.length; p++) expect(mem[table[Math.floor(p / BS)]! * BS + (p % BS)]).toBe(p * 1000 + x.tokenIds[p]!);
          }
        }
        for (const x of seqs) bm.free(x.seqId);
        expect(bm.numFreeGpuBlocks).toBe(numGpu - 1);
        expect(bm.numFreeCpuBlocks).toBe(Math.max(numCpu - 1, 0));
      }),
      { numRuns: 300 },
    );
  });
});
