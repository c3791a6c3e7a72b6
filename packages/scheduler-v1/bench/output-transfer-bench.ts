// What a step's outputs cost to hand to another thread (the engine core runs in a worker): the
// outputs of a real V1 decode step at 256 / 1,024 / 4,096 running requests, posted through a
// MessageChannel and received, as columns (`EngineCoreOutputBatch.toColumns()`, wrapped again on
// arrival) beside the peer: the same outputs as one `EngineCoreOutput` object per request (the
// form the contract had before). Run: npm run bench:transfer (in packages/scheduler-v1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { EngineCoreOutputBatch, type EngineCoreOutputColumns } from '@vllm-ts/core';
import { median, request, ScriptedRunner } from '@vllm-ts/scheduler-conformance';
import { Scheduler } from '../src/index.js';

/** One decode step's outputs with `n` requests running. */
function decodeStepOutputs(n: number): EngineCoreOutputBatch {
  const blockSize = 16;
  const s = new Scheduler({ maxModelLen: 1024, maxNumBatchedTokens: 8192, maxNumSeqs: n, numGpuBlocks: n * 16 + 16, blockSize });
  const runner = new ScriptedRunner({ numBlocks: n * 16 + 16, blockSize, script: (_, k) => 1000 + (k % 1000), verifyKv: false });
  for (let i = 0; i < n; i++) s.addRequest(request(`cmpl-${i.toString(16).padStart(8, '0')}-0`, Array.from({ length: 100 + (i % 16) }, (_, t) => 1 + ((i * 31 + t) % 30_000)), { maxTokens: 500, ignoreEos: true }));
  let out = new EngineCoreOutputBatch(0);
  for (let k = 0; k < 1000 && (k < 4 || out.length < n); k++) {
    const so = s.schedule();
    out = s.updateFromOutput(so, runner.execute(so));
  }
  return out;
}

const { port1, port2 } = new MessageChannel();
const stats = { timestamp: 0 };

/** Median µs of post + receive (+ unwrap) of `make()`'s payload. */
function time(make: () => unknown, unwrap: (m: unknown) => unknown, reps: number): number {
  const v: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    port1.postMessage({ type: 'outputs', outputs: make(), stats });
    unwrap(receiveMessageOnPort(port2)!.message);
    v.push((performance.now() - t0) * 1000);
  }
  return median(v);
}

const rows = [];
for (const n of [256, 1024, 4096]) {
  const batch = decodeStepOutputs(n);
  const objects = batch.toArray();
  const reps = n >= 4096 ? 300 : 1500;
  const runs = { columns: [] as number[], objects: [] as number[] };
  for (let k = 0; k < 5; k++) {
    runs.columns.push(time(() => batch.toColumns(), (m) => EngineCoreOutputBatch.fromColumns((m as { outputs: EngineCoreOutputColumns }).outputs), reps));
    runs.objects.push(time(() => objects, (m) => m, reps));
  }
  rows.push({ running: n, rows: batch.length, columnsUs: median(runs.columns), objectsUs: median(runs.objects) });
}
port1.close();

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', 'output-transfer.json');
writeFileSync(file, JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2));
console.log(`wrote ${file}`);
console.table(
  rows.map((r) => ({
    running: r.running,
    'columns µs p50': r.columnsUs.toFixed(1),
    'objects µs p50 (peer)': r.objectsUs.toFixed(1),
    speedup: `${(r.objectsUs / r.columnsUs).toFixed(1)}x`,
  })),
);
