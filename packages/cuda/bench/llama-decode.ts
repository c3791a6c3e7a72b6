// Llama-3.1-8B-shaped decode steps with dummy (seeded random, bf16) weights: batch 1 is the
// latency case, whose floor is the weight bytes over the copy bandwidth measured in the same run.
// Each step is captured as a CUDA graph and replayed, once with programmatic dependent launch and once
// without (same process, same plans); eager launches are timed beside it. Then the step's weight
// GEMMs alone (the same shapes and kernels, nothing between them) show how much of a batch-1 step the
// other kernels and the boundaries between launches take. BENCH_CASES=1 runs only batch 1, ctx 1024.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CudaGraph, CudaStream, DeviceTensor, LlamaForward, cudaUnavailableReason, gemm, gemvSiluAndMul, isCudaAvailable,
  programmaticDependentLaunch, setProgrammaticDependentLaunch,
} from '../src/index.js';
import { fillRandom } from '../src/internal/fill-random.js';
import type { LlamaConfig, LlamaForwardOptions } from '../src/index.js';
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

const rows: string[][] = [];
const results: Record<string, unknown>[] = [];
const blockSize = 16;
const pdl = programmaticDependentLaunch();
// BENCH_SWEEP=1: how a programmatic gemv overlaps the kernel before it, batch 1 (see native/kernels/gemv.cu).
const sweep = process.env.BENCH_SWEEP === '1' && pdl.supported;
const sweepRows: string[][] = [];
// Each config: programmatic dependent launch, the fused decode kernels (LlamaForwardOptions.fuseDecodeKernels),
// the default gemv L2 prefetch (VLLM_TS_GEMV_PREFETCH_MB).
const sweepConfigs = [
  { pdl: false, fuse: true, mb: '4' }, { pdl: true, fuse: true, mb: '4' }, { pdl: true, fuse: false, mb: '4' },
  { pdl: false, fuse: false, mb: '4' }, { pdl: true, fuse: true, mb: '0' }, { pdl: true, fuse: true, mb: '8' },
];
function sweepOverlap(body: () => void, label: string, options?: { fuseDecodeKernels?: boolean }): string[][] {
  const out: string[][] = [];
  const saved = process.env.VLLM_TS_GEMV_PREFETCH_MB;
  for (const c of sweepConfigs) {
    if (!options && !c.fuse) continue; // the GEMM-only chain always runs the fused gate/up kernel
    setProgrammaticDependentLaunch(c.pdl);
    process.env.VLLM_TS_GEMV_PREFETCH_MB = c.mb;
    if (options) options.fuseDecodeKernels = c.fuse;
    const graph = CudaGraph.capture(stream, body);
    const t = timeOnStream(stream, () => graph.replay(stream), { warmup: 3, iters: 10, reps: 7 });
    graph.destroy();
    out.push([label, c.pdl ? 'on' : 'off', options ? (c.fuse ? 'yes' : 'no') : '-', c.mb, t.ms.toFixed(3)]);
    results.push({ sweep: label, ...c, graphMs: t.ms, graphSpreadMs: t.spreadMs });
  }
  setProgrammaticDependentLaunch(pdl.active);
  if (options) delete options.fuseDecodeKernels;
  if (saved === undefined) delete process.env.VLLM_TS_GEMV_PREFETCH_MB;
  else process.env.VLLM_TS_GEMV_PREFETCH_MB = saved;
  return out;
}
const cases = process.env.BENCH_CASES === '1' ? [[1, 1024]] as const : [[1, 1024], [1, 4096], [32, 1024], [128, 1024]] as const;
for (const [batch, ctx] of cases) {
  const maxBlocksPerSeq = Math.ceil((ctx + 1) / blockSize);
  // Mutable: the sweep changes fuseDecodeKernels between captures (LlamaForward reads it at each run).
  const options: { -readonly [K in keyof LlamaForwardOptions]: LlamaForwardOptions[K] } = {
    dtype: 'bfloat16', maxNumTokens: batch, maxNumSeqs: batch, numBlocks: batch * maxBlocksPerSeq, blockSize, maxBlocksPerSeq,
  };
  const fwd = LlamaForward.create(config, { dummy: 7 }, options);
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
  const graphMs: Record<string, { ms: number; spreadMs: number }> = {};
  for (const on of pdl.supported ? [true, false, true] : [false]) {
    setProgrammaticDependentLaunch(on);
    const graph = CudaGraph.capture(stream, () => fwd.run(step, stream));
    const t = timeOnStream(stream, () => graph.replay(stream), { warmup: 3, iters: 10, reps: 7 });
    // Two captures with it on (before and after the one without): their spread bounds the noise.
    const key = on ? 'on' : 'off';
    graphMs[key] = graphMs[key] && graphMs[key].ms < t.ms ? graphMs[key] : t;
    graph.destroy();
  }
  setProgrammaticDependentLaunch(pdl.active);
  if (sweep && batch === 1 && ctx === 1024) sweepRows.push(...sweepOverlap(() => fwd.run(step, stream), 'step, batch 1, ctx 1024', options));
  const best = graphMs.on ?? graphMs.off!;
  const floorMs = weightBytes / (copyGBs * 1e6);
  rows.push([
    `batch ${batch}, ctx ${ctx}`, graphMs.on?.ms.toFixed(3) ?? '-', graphMs.off!.ms.toFixed(3), eager.ms.toFixed(3), floorMs.toFixed(3),
    `${((floorMs / best.ms) * 100).toFixed(0)}%`, ((batch * 1000) / best.ms).toFixed(0),
  ]);
  results.push({ batch, ctx, graphMs: best.ms, graphPdlMs: graphMs.on?.ms ?? null, graphNoPdlMs: graphMs.off!.ms, graphSpreadMs: best.spreadMs, eagerMs: eager.ms, floorMs });
  console.log(rows.at(-1)!.join('  '));
  stream.synchronize();
  fwd.free();
}

// The weight GEMMs of one batch-1 step alone, as LlamaForward issues them (gemm's plan per shape; the
// fused gate/up + SiLU kernel), on their own copy of the weights.
const H = config.hiddenSize, I = config.intermediateSize, QKV = (config.numHeads + 2 * config.numKvHeads) * 128;
const owned: DeviceTensor[] = [];
const tensor = (shape: number[], dtype: 'bfloat16' | 'float32' = 'bfloat16', seed = 0) => {
  const t = DeviceTensor.empty(shape, dtype);
  owned.push(t);
  if (seed > 0) fillRandom(t, seed, 0.02, 0);
  return t;
};
const layerWeights = Array.from({ length: config.numLayers }, (_, l) => ({
  qkv: tensor([QKV, H], 'bfloat16', 100 + 4 * l), o: tensor([H, H], 'bfloat16', 101 + 4 * l),
  gateUp: tensor([2 * I, H], 'bfloat16', 102 + 4 * l), down: tensor([H, I], 'bfloat16', 103 + 4 * l),
}));
const lmHead = tensor([config.vocabSize, H], 'bfloat16', 99);
const x = tensor([1, H], 'bfloat16', 98), qkvOut = tensor([1, QKV]), act = tensor([1, I], 'bfloat16', 97), logits = tensor([1, config.vocabSize], 'float32');
const gemmsOnly = () => {
  for (const w of layerWeights) {
    gemm({ out: qkvOut, a: x, weight: w.qkv }, { stream });
    gemm({ out: x, a: qkvOut.columns(0, H), weight: w.o }, { stream });
    gemvSiluAndMul({ out: act, a: x, weight: w.gateUp }, { stream });
    gemm({ out: x, a: act, weight: w.down }, { stream });
  }
  gemm({ out: logits, a: x, weight: lmHead }, { stream });
};
const gemmRows: string[][] = [];
for (const on of pdl.supported ? [true, false] : [false]) {
  setProgrammaticDependentLaunch(on);
  gemmsOnly();
  const graph = CudaGraph.capture(stream, gemmsOnly);
  const t = timeOnStream(stream, () => graph.replay(stream), { warmup: 3, iters: 10, reps: 7 });
  graph.destroy();
  const floorMs = weightBytes / (copyGBs * 1e6);
  gemmRows.push([`weight GEMMs of a batch-1 step, PDL ${on ? 'on' : 'off'}`, t.ms.toFixed(3), floorMs.toFixed(3), `${((floorMs / t.ms) * 100).toFixed(0)}%`]);
  results.push({ gemmsOnly: true, pdl: on, graphMs: t.ms, graphSpreadMs: t.spreadMs, floorMs });
}
setProgrammaticDependentLaunch(pdl.active);
if (sweep) sweepRows.push(...sweepOverlap(gemmsOnly, 'weight GEMMs only'));
stream.synchronize();
for (const t of owned) t.free();

const outPath = process.env.BENCH_OUT ?? new URL('./results/llama-decode.json', import.meta.url).pathname;
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify({ date: new Date().toISOString(), copyGBs, weightBytes, pdl, results }, null, 2)}\n`);
console.log(`\nLlama-3.1-8B shape, bf16 dummy weights (${(weightBytes / 1e9).toFixed(2)} GB); floor = weights / copy bandwidth ${copyGBs.toFixed(0)} GB/s`);
console.log(`programmatic dependent launch: supported ${pdl.supported}, default ${pdl.active ? 'on' : 'off'}`);
console.log(formatTable(['decode step', 'graph ms (PDL)', 'graph ms (no PDL)', 'eager ms', 'floor ms', 'floor/graph', 'tokens/s'], rows));
console.log(formatTable(['', 'graph ms', 'floor ms', 'floor/graph'], gemmRows));
if (sweep) console.log(formatTable(['graph (batch 1)', 'PDL', 'fused decode kernels', 'gemv prefetch MiB', 'ms'], sweepRows));
