// Scheduler step benchmark: schedule() + updateFromOutput() per step, V0 beside V1 in one run.
// Run: npm run bench (in packages/scheduler-v0). Writes bench/results/step-bench.json.
// The load and the timing come from @vllm-ts/scheduler-conformance (the same harness V1's bench uses).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSchedulerStep, median, schedulerShape, type SchedulerFactory, type StepBenchCase, type StepBenchResult } from '@vllm-ts/scheduler-conformance';
import { Scheduler as SchedulerV1 } from '@vllm-ts/scheduler-v1';
import { SchedulerV0 } from '../src/index.js';

const variants: Record<string, SchedulerFactory> = {
  // V0's own defaults: prefill-first, no prefix caching.
  'v0': (c) => new SchedulerV0(schedulerShape(c)),
  'v0 +prefix cache': (c) => new SchedulerV0({ ...schedulerShape(c), enablePrefixCaching: true }),
  'v0 chunked': (c) => new SchedulerV0({ ...schedulerShape(c), enableChunkedPrefill: true }),
  // The peer: V1 with its defaults (prefix caching on, murmur3_128).
  'v1': (c) => new SchedulerV1({ ...schedulerShape(c), hashSeed: c.hashSeed }),
};

const cases: StepBenchCase[] = [
  { name: 'decode 256', numDecodes: 256 },
  { name: 'decode 1024', numDecodes: 1024 },
  { name: 'decode 4096', numDecodes: 4096, stepsPerSample: 50 },
  { name: 'mixed 1024 + 4 prefills/step', numDecodes: 1024, prefillsPerStep: 4 },
];
const runs = Number(process.env.BENCH_RUNS ?? 3);

// Each (case, variant) is measured `runs` times, interleaved, and the median run is kept, because
// the machine may be shared: a noisy neighbour then hits every variant alike. On a loaded machine
// read the best step and the CPU time per step (process CPU, GC included) rather than the median.
const rows: (StepBenchResult & { variant: string; runsUs: number[] })[] = [];
for (const c of cases) {
  const byVariant = new Map<string, StepBenchResult[]>();
  for (let r = 0; r < runs; r++) {
    for (const [variant, create] of Object.entries(variants)) {
      const list = byVariant.get(variant) ?? [];
      list.push(benchSchedulerStep(create, c));
      byVariant.set(variant, list);
    }
  }
  for (const [variant, list] of byVariant) {
    const mid = median(list.map((x) => x.stepUs));
    const pick = list.find((x) => x.stepUs === mid) ?? list.sort((a, b) => a.stepUs - b.stepUs)[list.length >> 1]!;
    rows.push({ ...pick, variant, runsUs: list.map((x) => x.stepUs) });
  }
}

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', 'step-bench.json');
writeFileSync(file, JSON.stringify({ node: process.version, date: new Date().toISOString(), runs, rows }, null, 2));
console.log(`wrote ${file}`);
const v1 = new Map(rows.filter((r) => r.variant === 'v1').map((r) => [r.name, r.stepUs]));
console.table(
  rows.map((r) => ({
    case: r.name,
    scheduler: r.variant,
    running: r.numRunning,
    'tokens/step': r.tokensPerStep,
    'schedule µs': r.scheduleUs.toFixed(1),
    'update µs': r.updateUs.toFixed(1),
    'step µs (median)': r.stepUs.toFixed(1),
    'step µs (best)': r.stepBestUs.toFixed(1),
    'step CPU µs': r.stepCpuUs.toFixed(1),
    'ns/request': r.perRequestNs.toFixed(0),
    'vs v1': `${(r.stepUs / v1.get(r.name)!).toFixed(2)}x`,
  })),
);
