import { requestId } from '@vllm-ts/core';
import { ScriptedRunner, seededRandom, request } from '@vllm-ts/scheduler-conformance';
import { Scheduler } from '../src/index.js';
const NOC = process.env.NOCOPY; const n = Number(process.env.N ?? 1024);
const steps = Number(process.env.STEPS ?? 2000);
const bs = 16, promptLen = 128, total = steps + 1000;
const c = { maxModelLen: promptLen + bs + total + 8, maxNumBatchedTokens: 8192, maxNumSeqs: n, blockSize: bs, policy: 'fcfs' as const, hashSeed: 'bench', numGpuBlocks: n * Math.ceil((promptLen + bs + total + 1) / bs) + 16 };
const s = new Scheduler(c);
const runner = new ScriptedRunner({ numBlocks: c.numGpuBlocks, blockSize: bs, script: (_: unknown, k: number) => 1000 + (k % 1000), verifyKv: false });
const rand = seededRandom(42);
const system = Array.from({ length: 64 }, () => Math.floor(rand() * 30000));
for (let i = 0; i < n; i++) {
  const len = promptLen + (i % bs);
  s.addRequest(request(`d${i}`, [...system, ...Array.from({ length: len - 64 }, () => Math.floor(rand() * 30000))], { maxTokens: 1e6, ignoreEos: true }));
}
const step = () => { const o = s.schedule(); s.updateFromOutput(o, runner.execute(o)); };
let k = 0;
while (k < 400 && ![...Array(n).keys()].every((i) => runner.isDecoding(requestId(`d${i}`)))) { step(); k++; }
for (let i = 0; i < 200; i++) step();
const sch = new Float64Array(steps), upd = new Float64Array(steps);
for (let i = 0; i < steps; i++) {
  const t0 = performance.now(); const o = s.schedule(); const t1 = performance.now();
  const ro = runner.execute(o);
  const t2 = performance.now(); s.updateFromOutput(o, ro); const t3 = performance.now();
  sch[i] = (t1 - t0) * 1000; upd[i] = (t3 - t2) * 1000;
}
const both = sch.map((x, i) => x + upd[i]!);
const q = (v: Float64Array, p: number) => { const a = Float64Array.from(v).sort(); return a[Math.floor(p * (a.length - 1))]!.toFixed(1); };
const tm = (v: Float64Array) => { const a = Float64Array.from(v).sort(); let t = 0; const m = Math.floor(a.length * 0.9); for (let i = 0; i < m; i++) t += a[i]!; return (t / m).toFixed(1); };
console.log(JSON.stringify({ tm: tm(both), utm: tm(upd), stm: tm(sch), p0: q(both, 0), p10: q(both, 0.1), p25: q(both, 0.25), p50: q(both, 0.5), p75: q(both, 0.75), p90: q(both, 0.9), p99: q(both, 0.99), sch50: q(sch, 0.5), upd50: q(upd, 0.5) }));
if (process.env.DUMP) { require("node:fs").writeFileSync(process.env.DUMP, Array.from(sch).map((x, i) => x.toFixed(1) + " " + upd[i]!.toFixed(1)).join("\n")); }
