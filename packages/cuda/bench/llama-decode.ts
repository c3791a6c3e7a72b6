// Llama-3.1-8B-shaped decode steps with dummy (seeded random, bf16) weights: batch 1 is the
// latency case, whose floor is the weight bytes over the copy bandwidth measured in the same run.
// Each step is captured once as a CUDA graph and replayed; eager launches are timed beside it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CudaGraph, CudaStream, DeviceTensor, LlamaForward, cudaUnavailableReason, isCudaAvailable } from '../src/index.js';
import type { LlamaConfig } from '../src/index.js';
import { formatTable, timeOnStream } from './harness.js';

if (!isCudaAvailable()) {
  console.log(`CUDA unavailable: ${cudaUnavailableReason()}`);
  process.exit(0);
}

const config: LlamaConfig = {
  hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, vocabSize: 128256,
  rmsNormEps: 1e-5, ropeTheta: 500000, maxPosition: 8192,
  ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
};
const weightBytes =
  2 * (config.numLayers * ((config.numHeads + 2 * config.numKvHeads) * 128 * 4096 + 4096 * 4096 + 3 * 14336 * 4096 + 2 * 4096) +
    2 * config.vocabSize * 4096 + 4096);

const stream = CudaStream.create();
// Copy-bandwidth ceiling, measured here.
const a = DeviceTensor.empty([1 << 30], 'bfloat16');
const b = DeviceTensor.empty([1 << 30], 'bfloat16');
a.zero();
const copy = timeOnStream(stream, () => b.copyFrom(a, stream), { iters: 5 });
const copyGBs = (4 * 2 ** 30) / copy.ms / 1e6;
a.free();
b.free();

const blockSize = 16;
const rows: string[][] = [];
const results: Record<string, unknown>[] = [];
for (const [batch, ctx] of [[1, 1024], [1, 4096], [32, 1024], [128, 1024]] as const) {
  const maxBlocksPerSeq = Math.ceil((ctx + 1) / blockSize);
  const fwd = LlamaForward.create(config, { dummy: 7 }, {
    dtype: 'bfloat16', maxNumTokens: batch, maxNumSeqs: batch, numBlocks: batch * maxBlocksPerSeq, blockSize, maxBlocksPerSeq,
  });
  const blockTables = Int32Array.from({ length: batch * maxBlocksPerSeq }, (_, i) => i);
  const step = fwd.prepare({
    tokenIds: Int32Array.from({ length: batch }, (_, i) => (i * 7919) % config.vocabSize),
    positions: Int32Array.from({ length: batch }, () => ctx),
    slotMapping: Int32Array.from({ length: batch }, (_, s) => s * maxBlocksPerSeq * blockSize + ctx),
    blockTables,
    seqLens: Int32Array.from({ length: batch }, () => ctx + 1),
    queryStartLoc: Int32Array.from({ length: batch + 1 }, (_, i) => i),
    logitsIndices: Int32Array.from({ length: batch }, (_, i) => i),
  });
  const eager = timeOnStream(stream, () => fwd.run(step, stream), { warmup: 2, iters: 3, reps: 5 });
  const graph = CudaGraph.capture(stream, () => fwd.run(step, stream));
  const replay = timeOnStream(stream, () => graph.replay(stream), { warmup: 3, iters: 10, reps: 7 });
  const floorMs = weightBytes / (copyGBs * 1e6);
  rows.push([`batch ${batch}, ctx ${ctx}`, replay.ms.toFixed(3), eager.ms.toFixed(3), floorMs.toFixed(3), `${((floorMs / replay.ms) * 100).toFixed(0)}%`, ((batch * 1000) / replay.ms).toFixed(0)]);
  results.push({ batch, ctx, graphMs: replay.ms, graphSpreadMs: replay.spreadMs, eagerMs: eager.ms, floorMs });
  console.log(rows.at(-1)!.join('  '));
  graph.destroy();
  stream.synchronize();
  fwd.free();
}

const outPath = process.env.BENCH_OUT ?? new URL('./results/llama-decode.json', import.meta.url).pathname;
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify({ date: new Date().toISOString(), copyGBs, weightBytes, results }, null, 2)}\n`);
console.log(`\nLlama-3.1-8B shape, bf16 dummy weights (${(weightBytes / 1e9).toFixed(2)} GB); floor = weights / copy bandwidth ${copyGBs.toFixed(0)} GB/s`);
console.log(formatTable(['decode step', 'graph ms', 'eager ms', 'floor ms', 'floor/graph', 'tokens/s'], rows));
