import type { BlockId } from '@vllm-ts/core';
import { expect } from 'vitest';
import { slotValue, type ReferenceModel } from './reference-model.js';
import type { DrivenBlockPool, DrivenManagerSizes, DrivenV0BlockManager } from './v0-block-manager.js';

/** What {@link checkV0Invariants} reads: the manager, its pools and the model of its users. */
export interface V0InvariantSubject {
  /** The manager under test. */
  readonly manager: DrivenV0BlockManager;
  /** Its device pool. */
  readonly gpu: DrivenBlockPool;
  /** Its CPU pool, or null. */
  readonly cpu: DrivenBlockPool | null;
  /** The pool sizes it was built with. */
  readonly sizes: DrivenManagerSizes;
  /** The model of its live sequences and their KV. */
  readonly model: ReferenceModel;
  /** Device blocks held by a cache rather than a table (one reference each); empty without one. */
  readonly cacheHeld: ReadonlySet<BlockId>;
}

/**
 * Checks the V0 block-manager invariants against the model (vitest assertions):
 * - every device and CPU block's ref count is the number of live table entries naming it, plus one
 *   for a block held by the cache (which no table may name), and it is free exactly when nobody holds it;
 * - free device blocks + blocks held by tables + the null block = the pool (a cache's blocks count
 *   as free), and likewise on the CPU;
 * - every live sequence's table covers exactly its tokens, and every slot it names holds that token.
 * @param s the manager, its pools and the model
 * @throws the vitest assertion error of the first broken invariant
 */
export function checkV0Invariants(s: V0InvariantSubject): void {
  const { manager, model, sizes } = s;
  const onGpu = new Map<BlockId, number>();
  const onCpu = new Map<BlockId, number>();
  for (const x of model.seqs) {
    const holders = x.onCpu ? onCpu : onGpu;
    for (const b of manager.getBlockTable(x.seqId)) holders.set(b, (holders.get(b) ?? 0) + 1);
  }
  expect([...s.cacheHeld].filter((b) => onGpu.has(b)), 'cache-held blocks named by a table').toEqual([]);
  expect(onGpu.has(0 as BlockId) || onCpu.has(0 as BlockId), 'a table names block 0').toBe(false);
  const gpu = poolState(s.gpu, sizes.numGpuBlocks, (b) => (onGpu.get(b) ?? 0) + (s.cacheHeld.has(b) ? 1 : 0));
  expect(gpu.actual, 'device blocks: [ref count, free] by id').toEqual(gpu.expected);
  expect(manager.numFreeGpuBlocks + onGpu.size + 1, 'free + table-held + null device blocks').toBe(sizes.numGpuBlocks);
  if (s.cpu !== null) {
    const cpu = poolState(s.cpu, sizes.numCpuBlocks, (b) => onCpu.get(b) ?? 0);
    expect(cpu.actual, 'CPU blocks: [ref count, free] by id').toEqual(cpu.expected);
    expect(manager.numFreeCpuBlocks + onCpu.size + 1, 'free + held + block 0 CPU blocks').toBe(sizes.numCpuBlocks);
  } else {
    expect(onCpu.size, 'tables on a CPU pool that does not exist').toBe(0);
  }
  for (const x of model.seqs) {
    const table = manager.getBlockTable(x.seqId);
    expect(table.length, `table length of ${x.seqId}`).toBe(Math.ceil(x.tokenIds.length / model.blockSize));
    const held = x.tokenIds.map((_, p) => model.readSlot(x, table, p));
    expect(held, `KV slots of ${x.seqId}`).toEqual(x.tokenIds.map((t, p) => slotValue(p, t)));
  }
}

/** [ref count, free] of blocks 1.. of a pool, as read and as `holders` says they must be. */
function poolState(pool: DrivenBlockPool, numBlocks: number, holders: (b: BlockId) => number): { actual: [number, boolean][]; expected: [number, boolean][] } {
  const actual: [number, boolean][] = [];
  const expected: [number, boolean][] = [];
  for (let b = 1; b < numBlocks; b++) {
    const id = b as BlockId;
    actual.push([pool.refCount(id), pool.isFree(id)]);
    expected.push([holders(id), holders(id) === 0]);
  }
  return { actual, expected };
}

/**
 * Checks a manager whose sequences were all freed: every usable block is free, and the prefix cache
 * (if any) can be reset.
 * @param manager the manager, with no live sequence
 * @param sizes the pool sizes it was built with
 * @throws the vitest assertion error of the first broken expectation
 */
export function checkV0Drained(manager: DrivenV0BlockManager, sizes: DrivenManagerSizes): void {
  expect(manager.numFreeGpuBlocks).toBe(sizes.numGpuBlocks - 1);
  expect(manager.numFreeCpuBlocks).toBe(sizes.numCpuBlocks >= 2 ? sizes.numCpuBlocks - 1 : 0);
  expect(manager.resetPrefixCache()).toBe(true);
  expect(manager.numFreeGpuBlocks).toBe(sizes.numGpuBlocks - 1);
}
