// The interleaved A/B of the step benchmark, given the two versions' modules: shared by
// step-bench-ab.ts (tsx, the other checkout imported at run time) and the bundle that
// step-bench-ab-bundle.mjs builds for hosts without npm (both versions imported statically).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestId } from '@vllm-ts/core';
import type * as Conformance from '@vllm-ts/scheduler-conformance';
import type * as SchedulerV1 from '../src/index.js';

/**
 * One version under test: its scheduler-v1 and scheduler-conformance modules (typed as this tree's;
 * the other version is used through the same names).
 */
export interface AbSide {
  readonly conf: typeof Conformance;
  readonly v1: typeof SchedulerV1;
}

/** Options of {@link runStepAB}. */
export interface StepAbOptions {
  /** Running decode requests (default 1,024). */
  readonly n: number;
  /** Rounds of one block of 100 steps per version (default 30). */
  readonly rounds: number;
  /** What A is (a path or a commit), recorded in the results. */
  readonly before: string;
  /** Folder for `step-bench-ab.json`. */
  readonly resultsDir: string;
}

/**
 * Builds a scheduler of each version at `n` running decodes (block size 16, budget 8,192, prefix
 * caching, a scripted runner between the calls), then alternates blocks of 100 timed steps, the
 * order flipped every round, so the host's slow phases hit both alike. Prints the table and writes
 * `step-bench-ab.json` to `resultsDir`.
 * @param a the version to compare against ("BEFORE")
 * @param b this tree
 * @param options size, rounds, labels, where to write
 */
export function runStepAB(a: AbSide, b: AbSide, options: StepAbOptions): void {
  const { n, rounds, before, resultsDir } = options;
  const block = 100;
  const bs = 16, promptLen = 128, total = block * rounds + 1000;
  // Both versions are built step by step side by side (a request to one, then the same to the
  // other; warm-up steps alternated): built one after the other, the first one's objects sat
  // better in the heap, and an A/A run read 5-15% in favour of whichever was built first.
  function create(M: AbSide) {
    const c = { maxModelLen: promptLen + bs + total + 8, maxNumBatchedTokens: 8192, maxNumSeqs: n, blockSize: bs, policy: 'fcfs' as const, hashSeed: 'bench', numGpuBlocks: n * Math.ceil((promptLen + bs + total + 1) / bs) + 16 };
    const s = new M.v1.Scheduler(c);
    const runner = new M.conf.ScriptedRunner({ numBlocks: c.numGpuBlocks, blockSize: bs, script: (_: unknown, k: number) => 1000 + (k % 1000), verifyKv: false });
    const step = () => { const o = s.schedule(); s.updateFromOutput(o, runner.execute(o)); };
    const decoding = () => [...Array(n).keys()].every((i) => runner.isDecoding(requestId(`d${i}`)));
    return { M, s, runner, step, decoding, sched: [] as number[], upd: [] as number[], both: [] as number[] };
  }
  const sa = create(a), sb = create(b);
  const rand = a.conf.seededRandom(42);
  const system = Array.from({ length: 64 }, () => Math.floor(rand() * 30000));
  for (let i = 0; i < n; i++) {
    const len = promptLen + (i % bs);
    const prompt = [...system, ...Array.from({ length: len - 64 }, () => Math.floor(rand() * 30000))];
    for (const x of [sa, sb]) x.s.addRequest(x.M.conf.request(`d${i}`, prompt, { maxTokens: 1e6, ignoreEos: true }));
  }
  for (let k = 0; k < 400 && !(sa.decoding() && sb.decoding()); k++) { sa.step(); sb.step(); }
  for (let i = 0; i < 200; i++) { sa.step(); sb.step(); }
  function run(x: ReturnType<typeof create>) {
    for (let i = 0; i < block; i++) {
      const t0 = performance.now(); const o = x.s.schedule(); const t1 = performance.now();
      const ro = x.runner.execute(o);
      const t2 = performance.now(); x.s.updateFromOutput(o, ro); const t3 = performance.now();
      x.sched.push((t1 - t0) * 1000); x.upd.push((t3 - t2) * 1000); x.both.push((t1 - t0 + t3 - t2) * 1000);
    }
  }
  for (let r = 0; r < rounds; r++) { if (r % 2) { run(sa); run(sb); } else { run(sb); run(sa); } }
  const med = (v: number[]) => { const s = [...v].sort((p, q) => p - q); return s[s.length >> 1]!; };
  const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / v.length;
  const row = (name: string, x: ReturnType<typeof create>) => ({ name, n, 'schedule p50': +med(x.sched).toFixed(1), 'update p50': +med(x.upd).toFixed(1), 'step p50': +med(x.both).toFixed(1), 'step mean': +mean(x.both).toFixed(1), 'step p10': +[...x.both].sort((p, q) => p - q)[Math.floor(x.both.length / 10)]!.toFixed(1) });
  const rows = [row('A: BEFORE checkout', sa), row('B: this tree', sb)];
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'step-bench-ab.json');
  writeFileSync(file, JSON.stringify({ node: process.version, date: new Date().toISOString(), before, rounds, rows }, null, 2));
  console.log(`wrote ${file}`);
  console.table(rows);
}
