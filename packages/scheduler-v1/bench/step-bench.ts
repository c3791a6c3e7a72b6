// Scheduler step benchmark: schedule() + updateFromOutput() per step, V1, with a breakdown.
// Run: npm run bench (in packages/scheduler-v1). Writes bench/results/step-bench-<hash>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AllocateSlotsOptions, KVCacheManager as KVCacheManagerContract, KVCacheRequest } from '@vllm-ts/core';
import { KVCacheManager } from '@vllm-ts/prefix-cache';
import { benchSchedulerStep, type SchedulerFactory, type StepBenchCase } from '@vllm-ts/scheduler-conformance';
import { resolveSchedulerConfig, Scheduler } from '../src/index.js';

/** Wraps a KV manager and adds up the time spent in it (minus the timer's own cost). */
class TimedKVCacheManager extends KVCacheManager {
  ms = 0;
  calls = 0;
  override getComputedBlocks(r: KVCacheRequest) {
    const t = performance.now();
    const x = super.getComputedBlocks(r);
    this.ms += performance.now() - t;
    this.calls++;
    return x;
  }
  override allocateSlots(r: KVCacheRequest, n: number, o?: AllocateSlotsOptions) {
    const t = performance.now();
    const x = super.allocateSlots(r, n, o);
    this.ms += performance.now() - t;
    this.calls++;
    return x;
  }
  override free(r: KVCacheRequest) {
    const t = performance.now();
    super.free(r);
    this.ms += performance.now() - t;
    this.calls++;
  }
}

/** Cost of one `performance.now()` pair, in ms (subtracted per timed call). */
function timerOverheadMs(): number {
  const n = 1_000_000;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += performance.now() - performance.now();
  if (!Number.isFinite(sink)) throw new Error('timer broken');
  return (performance.now() - t0) / n;
}

// The scheduler's default hash unless HASH_ALGO names one.
const algo = (process.env.HASH_ALGO ?? resolveSchedulerConfig({ maxModelLen: 2, numGpuBlocks: 2 }).prefixCachingHashAlgo) as 'sha256' | 'murmur3_128';
let kv: TimedKVCacheManager | null = null;
const timed = process.argv.includes('--profile');
const create: SchedulerFactory = (c) => {
  kv = timed ? new TimedKVCacheManager({ numBlocks: c.numGpuBlocks, blockSize: c.blockSize, maxModelLen: c.maxModelLen }) : null;
  return new Scheduler({
    maxModelLen: c.maxModelLen,
    maxNumBatchedTokens: c.maxNumBatchedTokens,
    maxNumSeqs: c.maxNumSeqs,
    blockSize: c.blockSize,
    policy: c.policy,
    hashSeed: c.hashSeed,
    prefixCachingHashAlgo: algo,
    ...(kv === null ? { numGpuBlocks: c.numGpuBlocks } : { kvCacheManager: kv as KVCacheManagerContract }),
  });
};

// CASES=<comma-separated names> runs only those (e.g. CASES='decode 1024' with --cpu-prof);
// SAMPLES=<k> times k samples of 100 steps each (default 7).
const only = process.env.CASES?.split(',').map((x) => x.trim());
const samples = process.env.SAMPLES === undefined ? undefined : Number(process.env.SAMPLES);
const cases: StepBenchCase[] = [
  { name: 'decode 256', numDecodes: 256 },
  { name: 'decode 1024', numDecodes: 1024 },
  { name: 'decode 4096', numDecodes: 4096, stepsPerSample: 50 },
  { name: 'mixed 1024 + 4 prefills/step', numDecodes: 1024, prefillsPerStep: 4 },
]
  .filter((c) => only === undefined || only.includes(c.name))
  .map((c) => (samples === undefined ? c : { ...c, samples }));
const overhead = timed ? timerOverheadMs() : 0;
const rows = [];
for (const c of cases) {
  let kvAtStart = 0;
  let callsAtStart = 0;
  const r = benchSchedulerStep(create, {
    ...c,
    onMeasureStart: () => {
      kvAtStart = kv?.ms ?? 0;
      callsAtStart = kv?.calls ?? 0;
    },
  });
  const kvUs = kv === null ? null : (((kv as TimedKVCacheManager).ms - kvAtStart - ((kv as TimedKVCacheManager).calls - callsAtStart) * overhead) * 1000) / r.stepsMeasured;
  rows.push({ ...r, kvUs, hashAlgo: algo });
}

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `step-bench${timed ? '-profile' : ''}-${algo}.json`);
writeFileSync(file, JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2));
console.log(`wrote ${file}`);
console.table(
  rows.map((r) => ({
    case: r.name,
    running: r.numRunning,
    'tokens/step': r.tokensPerStep,
    'schedule µs p50': r.scheduleUs.toFixed(1),
    'update µs p50': r.updateUs.toFixed(1),
    'step µs p50': r.stepUs.toFixed(1),
    'step µs mean': r.stepMeanUs.toFixed(1),
    'step µs best': r.stepBestUs.toFixed(1),
    'ns/request p50': r.perRequestNs.toFixed(0),
    ...(timed ? { 'in KV manager µs': r.kvUs!.toFixed(1) } : {}),
  })),
);
