// BlockPool benchmark: allocate + free of n blocks, and a cache hit taking a block out of the middle
// of the free queue, against a deque-of-ids free list (nano-vllm's layout) measured in the same run.
// Run: npm run bench (in packages/block-allocator). Writes bench/results/block-pool-bench.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlockId } from '@vllm-ts/core';
import { BlockPool } from '../src/index.js';

/**
 * The peer: nano-vllm's layout, a deque of free ids (here an array with a moving head, O(1) at both
 * ends) where taking a given block out is a linear search and a splice (O(n)).
 */
class ArrayBlockPool {
  private free: number[];
  private head = 0;
  private readonly refs: Int32Array;
  constructor(n: number) {
    this.free = Array.from({ length: n - 1 }, (_, i) => i + 1);
    this.refs = new Int32Array(n);
  }
  allocate(n: number): number[] | null {
    if (n > this.free.length - this.head) return null;
    const out = this.free.slice(this.head, this.head + n);
    this.head += n;
    if (this.head > 65_536 && this.head * 2 > this.free.length) {
      this.free = this.free.slice(this.head);
      this.head = 0;
    }
    for (const id of out) this.refs[id] = 1;
    return out;
  }
  touch(ids: readonly number[]): void {
    for (const id of ids) {
      if (this.refs[id] === 0) this.free.splice(this.free.indexOf(id, this.head), 1);
      this.refs[id]!++;
    }
  }
  free_(ids: readonly number[]): void {
    for (const id of ids) if (--this.refs[id]! === 0) this.free.push(id);
  }
}

/** Median over `samples` of the mean time per call, in ns; each sample runs at least `minMs`. */
function measure(fn: () => void, samples = 7, minMs = 100): number {
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < minMs) {
      for (let i = 0; i < 100; i++) fn();
      calls += 100;
      t = performance.now();
    }
    times.push(((t - t0) * 1e6) / calls);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

const NUM_BLOCKS = 131_072;
const rows: Record<string, string | number>[] = [];
for (const n of [1, 16, 128]) {
  const pool = new BlockPool({ numBlocks: NUM_BLOCKS });
  const peer = new ArrayBlockPool(NUM_BLOCKS);
  // Half the pool held, so the queues are long as in a busy server.
  pool.allocate(NUM_BLOCKS / 2);
  peer.allocate(NUM_BLOCKS / 2);
  const ours = measure(() => pool.free(pool.allocate(n)!.reverse()));
  const theirs = measure(() => peer.free_(peer.allocate(n)!.reverse()));
  rows.push({ op: `allocate+free ${n}`, 'BlockPool ns/op': ours, 'ns/block': ours / n, 'array peer ns/op': theirs, 'peer ns/block': theirs / n, speedup: theirs / ours });
}
{
  // A prefix-cache hit on a free block in the middle of a 64k-long free queue, then its release.
  const pool = new BlockPool({ numBlocks: NUM_BLOCKS });
  const peer = new ArrayBlockPool(NUM_BLOCKS);
  pool.allocate(NUM_BLOCKS / 2);
  peer.allocate(NUM_BLOCKS / 2);
  let k = 0;
  const mid = (): BlockId => (NUM_BLOCKS / 2 + 1 + ((k++ * 7919) % (NUM_BLOCKS / 2 - 2))) as BlockId;
  const ours = measure(() => {
    const id = mid();
    pool.touch([id]);
    pool.free([id]);
  });
  const theirs = measure(() => {
    const id = mid();
    peer.touch([id]);
    peer.free_([id]);
  }, 5, 50);
  rows.push({ op: 'hit (remove from middle) + free', 'BlockPool ns/op': ours, 'ns/block': ours, 'array peer ns/op': theirs, 'peer ns/block': theirs, speedup: theirs / ours });
}

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'block-pool-bench.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), numBlocks: NUM_BLOCKS, rows }, null, 2));
console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(3)) : v]))));
