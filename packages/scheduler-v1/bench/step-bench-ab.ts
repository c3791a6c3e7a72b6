// Interleaved A/B of the step at N running decodes (default 1,024): a scheduler from another
// checkout (A, e.g. `git worktree add /tmp/before HEAD` with its own node_modules/@vllm-ts links)
// beside this tree's (B), alternating blocks of 100 steps in one process so the host's load hits
// both alike (GC is shared, so the allocation of one can land in the other's time).
// Run: BEFORE=/tmp/before npm run bench:ab (in packages/scheduler-v1). Writes bench/results/step-bench-ab.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestId } from '@vllm-ts/core';

const before = process.env.BEFORE;
if (before === undefined) throw new Error('set BEFORE to the root of the checkout to compare against');
const A = { conf: await import(`${before}/tooling/scheduler-conformance/src/index.ts`), v1: await import(`${before}/packages/scheduler-v1/src/index.ts`) };
const B = { conf: await import('@vllm-ts/scheduler-conformance'), v1: await import('../src/index.js') };
const n = Number(process.env.N ?? 1024);
const rounds = Number(process.env.ROUNDS ?? 30);
const block = 100;
function setup(M: typeof A) {
  const bs = 16, promptLen = 128, total = block * rounds + 1000;
  const c = { maxModelLen: promptLen + bs + total + 8, maxNumBatchedTokens: 8192, maxNumSeqs: n, blockSize: bs, policy: 'fcfs', hashSeed: 'bench', numGpuBlocks: n * Math.ceil((promptLen + bs + total + 1) / bs) + 16 };
  const s = new M.v1.Scheduler(c);
  const runner = new M.conf.ScriptedRunner({ numBlocks: c.numGpuBlocks, blockSize: bs, script: (_: unknown, k: number) => 1000 + (k % 1000), verifyKv: false });
  const rand = M.conf.seededRandom(42);
  const system = Array.from({ length: 64 }, () => Math.floor(rand() * 30000));
  for (let i = 0; i < n; i++) {
    const len = promptLen + (i % bs);
    s.addRequest(M.conf.request(`d${i}`, [...system, ...Array.from({ length: len - 64 }, () => Math.floor(rand() * 30000))], { maxTokens: 1e6, ignoreEos: true }));
  }
  const step = () => { const o = s.schedule(); s.updateFromOutput(o, runner.execute(o)); };
  let k = 0;
  while (k < 400 && ![...Array(n).keys()].every((i) => runner.isDecoding(requestId(`d${i}`)))) { step(); k++; }
  for (let i = 0; i < 200; i++) step();
  return { s, runner, sched: [] as number[], upd: [] as number[], both: [] as number[] };
}
const a = setup(A), b = setup(B);
function run(x: ReturnType<typeof setup>) {
  for (let i = 0; i < block; i++) {
    const t0 = performance.now(); const o = x.s.schedule(); const t1 = performance.now();
    const ro = x.runner.execute(o);
    const t2 = performance.now(); x.s.updateFromOutput(o, ro); const t3 = performance.now();
    x.sched.push((t1 - t0) * 1000); x.upd.push((t3 - t2) * 1000); x.both.push((t1 - t0 + t3 - t2) * 1000);
  }
}
for (let r = 0; r < rounds; r++) { if (r % 2) { run(a); run(b); } else { run(b); run(a); } }
const med = (v: number[]) => { const s = [...v].sort((p, q) => p - q); return s[s.length >> 1]!; };
const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / v.length;
const row = (name: string, x: ReturnType<typeof setup>) => ({ name, n, 'schedule p50': +med(x.sched).toFixed(1), 'update p50': +med(x.upd).toFixed(1), 'step p50': +med(x.both).toFixed(1), 'step mean': +mean(x.both).toFixed(1), 'step p10': +[...x.both].sort((p, q) => p - q)[Math.floor(x.both.length / 10)]!.toFixed(1) });
const rows = [row('A: BEFORE checkout', a), row('B: this tree', b)];
const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', 'step-bench-ab.json');
writeFileSync(file, JSON.stringify({ node: process.version, date: new Date().toISOString(), before, rounds, rows }, null, 2));
console.log(`wrote ${file}`);
console.table(rows);
