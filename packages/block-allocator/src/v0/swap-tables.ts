import { invariant, type BlockId } from '@vllm-ts/core';
import type { BlockPair, SeqTable } from './block-table.js';

/** One pool as a swap sees it: hand out fresh blocks, add holders, drop holders. */
export interface SwapPool {
  /** `n` fresh blocks with one holder each, or null when short. */
  allocate(n: number): BlockId[] | null;
  /** Adds `n` holders to `id`. */
  addHolders(id: BlockId, n: number): void;
  /** Drops one holder of each block, in the order given. */
  release(ids: readonly BlockId[]): void;
}

/**
 * Each distinct block of `tables` with its number of holders among them (first-seen order).
 * @param tables the tables of one group
 */
export function countHolders(tables: readonly SeqTable[]): Map<BlockId, number> {
  const holders = new Map<BlockId, number>();
  for (const t of tables) for (const b of t.blocks) holders.set(b, (holders.get(b) ?? 0) + 1);
  return holders;
}

/**
 * Moves `tables` from one pool to the other, each distinct block once with all its holders, so
 * blocks shared inside the group stay shared; blocks are released tail first.
 * @param tables the group's tables, all in `from`
 * @param from the pool they leave
 * @param to the pool they move to (must have `countHolders(tables).size` free blocks)
 * @param mapping receives (source, destination) pairs
 */
export function moveTables(tables: readonly SeqTable[], from: SwapPool, to: SwapPool, mapping: BlockPair[]): void {
  const holders = countHolders(tables);
  const fresh = to.allocate(holders.size);
  invariant(fresh !== null, 'swap found too few free blocks after the check said it fits');
  const moved = new Map<BlockId, BlockId>();
  let i = 0;
  for (const [src, n] of holders) {
    const dst = fresh[i++]!;
    moved.set(src, dst);
    mapping.push([src, dst]);
    if (n > 1) to.addHolders(dst, n - 1);
  }
  for (const t of tables) {
    const old = t.blocks;
    t.blocks = old.map((b) => moved.get(b)!);
    t.onCpu = !t.onCpu;
    from.release([...old].reverse());
  }
}
