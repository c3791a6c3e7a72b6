// Kernel benchmarks on the GPU: each kernel's achieved bandwidth (or FLOP rate) against ceilings
// measured in the same run (a large device-to-device copy; a cuBLASLt bf16 GEMM), and against the
// PyTorch equivalents when bench/torch-peer.py's JSON is given (TORCH_PEER_JSON). Prints a table last
// and writes JSON (BENCH_OUT, default bench/results/kernels.json).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CudaStream, DeviceTensor, applyPenalties, argmax, computeRopeCosSinCache, cudaUnavailableReason, decodeWorkspaceFloats,
  embedding, fusedAddRmsNorm, gemm, getDeviceInfo, isCudaAvailable, pagedAttentionDecode, pagedAttentionPrefill,
  rotaryEmbedding, sample, siluAndMul, writeKvCache,
} from '../src/index.js';
import type { DType } from '../src/index.js';
import { gemv } from '../src/ops/gemm.js';
import { rotaryEmbeddingWithKvCache } from '../src/ops/rotary.js';
import { Rng } from '../src/testing/random.js';
import { formatTable, timeGraph, timeOnStream } from './harness.js';

if (!isCudaAvailable()) {
  console.log(`CUDA unavailable: ${cudaUnavailableReason()}`);
  process.exit(0);
}

// BENCH_ONLY=decode: the ceilings and the decode-attention rows only (a short device run).
const decodeOnly = process.env.BENCH_ONLY === 'decode';
const stream = CudaStream.create();
const rng = new Rng(1234);
const tensors: DeviceTensor[] = [];

/** A tensor filled with random values: one random 8 MiB host chunk, tiled on the device (never zeros). */
function random(shape: number[], dtype: DType, scale = 1): DeviceTensor {
  const t = DeviceTensor.empty(shape, dtype);
  tensors.push(t);
  const chunkElems = Math.min(t.numel, 1 << 22);
  const chunk = DeviceTensor.fromHost(
    dtype === 'int32' ? new Int32Array(chunkElems) : rng.tensor(chunkElems, dtype === 'float32' ? 'float32' : dtype, scale),
    [chunkElems],
    dtype,
  );
  const flat = t.view([t.numel]);
  for (let off = 0; off < t.numel; off += chunkElems) {
    const n = Math.min(chunkElems, t.numel - off);
    flat.rows(off, n).copyFrom(n === chunkElems ? chunk : chunk.rows(0, n), stream);
  }
  stream.synchronize();
  chunk.free();
  return t;
}

function ints(values: Int32Array | number[], shape: number[]): DeviceTensor {
  const t = DeviceTensor.fromHost(values instanceof Int32Array ? values : Int32Array.from(values), shape, 'int32');
  tensors.push(t);
  return t;
}

function floats(values: number[], shape: number[]): DeviceTensor {
  const t = DeviceTensor.fromHost(Float32Array.from(values), shape, 'float32');
  tensors.push(t);
  return t;
}

interface Row {
  name: string;
  ms: number;
  spreadMs: number;
  bytes?: number;
  flops?: number;
}
const rows: Row[] = [];

function bench(name: string, fn: () => void, work: { bytes?: number; flops?: number }, iters = 10): void {
  const t = timeOnStream(stream, fn, { iters });
  rows.push({ name, ...t, ...work });
  console.log(`${name}: ${t.ms.toFixed(4)} ms (spread ${t.spreadMs.toFixed(4)})`);
}

/** Like bench, timed as graph replays (no host launch gaps): for kernels of a few microseconds. */
function benchGraph(name: string, fn: () => void, work: { bytes?: number; flops?: number }): void {
  const t = timeGraph(stream, fn);
  rows.push({ name, ...t, ...work });
  console.log(`${name}: ${t.ms.toFixed(4)} ms (spread ${t.spreadMs.toFixed(4)})`);
}

const device = getDeviceInfo();
console.log(`device: ${device.name}, ${device.multiProcessorCount} SMs, ${(device.totalGlobalMem / 2 ** 30).toFixed(0)} GiB`);

// Ceilings.
{
  const n = 1 << 30; // 2 GiB of bf16
  const a = random([n], 'bfloat16');
  const b = DeviceTensor.empty([n], 'bfloat16');
  tensors.push(b);
  bench('ceiling: D2D copy 2 GiB', () => b.copyFrom(a, stream), { bytes: 2 * 2 * n }, 5);
  a.free();
  b.free();
}
if (!decodeOnly) {
  const m = 8192;
  const x = random([m, m], 'bfloat16');
  const w = random([m, m], 'bfloat16', 0.05);
  const o = DeviceTensor.empty([m, m], 'bfloat16');
  tensors.push(o);
  bench('ceiling: cuBLASLt bf16 GEMM 8192^3', () => gemm({ out: o, a: x, weight: w }, { stream }), { flops: 2 * m ** 3 }, 5);
}

// Llama-3.1-8B shapes: hidden 4096, 32 heads / 8 kv heads of 128, intermediate 14336, vocab 128256.
const [H, NH, NKV, D, I, V] = [4096, 32, 8, 128, 14336, 128256];
const T = 16384; // tokens in a large prefill batch
const blockSize = 16;
if (!decodeOnly) {
  const table = random([V, H], 'bfloat16');
  const ids = ints(Int32Array.from({ length: T }, () => rng.int(0, V)), [T]);
  const out = DeviceTensor.empty([T, H], 'bfloat16');
  tensors.push(out);
  bench('embedding 16k tokens', () => embedding(out, ids, table, { stream }), { bytes: 2 * T * H * 2 + T * 4 });

  const x = random([T, H], 'bfloat16');
  const r = random([T, H], 'bfloat16');
  const w = random([H], 'bfloat16');
  bench('fusedAddRmsNorm 16k x 4096', () => fusedAddRmsNorm(x, r, w, 1e-5, { stream }), { bytes: 4 * T * H * 2 });

  const gu = random([T, 2 * I], 'bfloat16');
  const act = DeviceTensor.empty([T, I], 'bfloat16');
  tensors.push(act);
  bench('siluAndMul 16k x 14336', () => siluAndMul(act, gu, { stream }), { bytes: 3 * T * I * 2 });
  benchGraph('siluAndMul 1 x 14336 (graph)', () => siluAndMul(act.rows(0, 1), gu.rows(0, 1), { stream }), { bytes: 3 * I * 2 });
  for (const t of [table, gu, act]) t.free();

  const width = (NH + 2 * NKV) * D;
  const qkv = random([T, width], 'bfloat16');
  const positions = ints(Int32Array.from({ length: T }, () => rng.int(0, 8192)), [T]);
  const cache = computeRopeCosSinCache({ rotaryDim: D, maxPosition: 8192, base: 500000 });
  const cosSin = DeviceTensor.fromHost(cache, [8192, D], 'float32');
  tensors.push(cosSin);
  bench(
    'rotaryEmbedding 16k tokens (q+k)',
    () => rotaryEmbedding({ positions, query: qkv.columns(0, NH * D), key: qkv.columns(NH * D, NKV * D), cosSinCache: cosSin, numHeads: NH, numKvHeads: NKV, headDim: D }, { stream }),
    { bytes: 2 * T * (NH + NKV) * D * 2 + T * D * 4 },
  );

  const numBlocks = T / blockSize + 64;
  const kc = random([numBlocks, blockSize, NKV, D], 'bfloat16');
  const vc = random([numBlocks, blockSize, NKV, D], 'bfloat16');
  const slots = ints(rng.permutation(numBlocks * blockSize).subarray(0, T), [T]);
  bench(
    'writeKvCache 16k tokens',
    () => writeKvCache({ key: qkv.columns(NH * D, NKV * D), value: qkv.columns((NH + NKV) * D, NKV * D), keyCache: kc, valueCache: vc, slotMapping: slots }, { stream }),
    { bytes: 2 * 2 * T * NKV * D * 2 },
  );

  bench(
    'rotaryEmbeddingWithKvCache 16k tokens',
    () => rotaryEmbeddingWithKvCache({ positions, query: qkv.columns(0, NH * D), key: qkv.columns(NH * D, NKV * D), value: qkv.columns((NH + NKV) * D, NKV * D), cosSinCache: cosSin, numHeads: NH, numKvHeads: NKV, headDim: D, keyCache: kc, valueCache: vc, slotMapping: slots }, { stream }),
    { bytes: T * (2 * (NH + NKV) * D * 2 + 3 * NKV * D * 2) + T * D * 4 },
  );

  // Prefill: 16 sequences of 1024 new tokens each, causal.
  const seqs = 16;
  const L = T / seqs;
  const blocksPerSeq = L / blockSize;
  const tables = ints(rng.permutation(numBlocks).subarray(0, seqs * blocksPerSeq), [seqs, blocksPerSeq]);
  const seqLens = ints(Array.from({ length: seqs }, () => L), [seqs]);
  const qsl = ints(Array.from({ length: seqs + 1 }, (_, i) => i * L), [seqs + 1]);
  const attnOut = DeviceTensor.empty([T, NH * D], 'bfloat16');
  tensors.push(attnOut);
  // The tensor-core kernel's 64-row query tiles (4 warps; the default at head dim 128 is 8 warps, 128 rows).
  process.env.VLLM_TS_FA2_WARPS = '4';
  bench(
    'pagedAttentionPrefill 16 x 1024 causal, 4 warps',
    () => pagedAttentionPrefill({ out: attnOut, query: qkv.columns(0, NH * D), keyCache: kc, valueCache: vc, blockTables: tables, seqLens, queryStartLoc: qsl, maxQueryLen: L, numHeads: NH, scale: 1 / Math.sqrt(D) }, { stream }),
    { flops: 4 * seqs * ((L * (L + 1)) / 2) * NH * D },
    3,
  );
  delete process.env.VLLM_TS_FA2_WARPS;
  bench(
    'pagedAttentionPrefill 16 x 1024 causal',
    () => pagedAttentionPrefill({ out: attnOut, query: qkv.columns(0, NH * D), keyCache: kc, valueCache: vc, blockTables: tables, seqLens, queryStartLoc: qsl, maxQueryLen: L, numHeads: NH, scale: 1 / Math.sqrt(D) }, { stream }),
    { flops: 4 * seqs * ((L * (L + 1)) / 2) * NH * D },
    3,
  );

  // Head dim 64 through the same path: 64 heads of 64 over 16 kv heads (the same bytes per token); the
  // default configuration, then the kernel's other ones through its overrides.
  {
    const [nh, nkv, d] = [64, 16, 64];
    const k64 = kc.view([numBlocks, blockSize, nkv, d]);
    const v64 = vc.view([numBlocks, blockSize, nkv, d]);
    for (const [warps, tileK] of [[null, null], ['8', '64'], ['4', '128'], ['8', '128']] as const) {
      if (warps) Object.assign(process.env, { VLLM_TS_FA2_WARPS: warps, VLLM_TS_FA2_TILE_K: tileK });
      bench(
        `pagedAttentionPrefill 16 x 1024 causal, head dim 64${warps ? `, ${warps} warps, key tile ${tileK}` : ''}`,
        () => pagedAttentionPrefill({ out: attnOut, query: qkv.columns(0, nh * d), keyCache: k64, valueCache: v64, blockTables: tables, seqLens, queryStartLoc: qsl, maxQueryLen: L, numHeads: nh, scale: 1 / Math.sqrt(d) }, { stream }),
        { flops: 4 * seqs * ((L * (L + 1)) / 2) * nh * d },
        3,
      );
      delete process.env.VLLM_TS_FA2_WARPS;
      delete process.env.VLLM_TS_FA2_TILE_K;
    }
  }

  // One decode token (batch-1 step): launch configuration, not bandwidth, decides these.
  {
    const x1 = x.rows(0, 1);
    const r1 = r.rows(0, 1);
    benchGraph('fusedAddRmsNorm 1 x 4096 (graph)', () => fusedAddRmsNorm(x1, r1, w, 1e-5, { stream }), { bytes: 4 * H * 2 });
    const q1 = qkv.rows(0, 1);
    const p1 = positions.rows(0, 1);
    benchGraph(
      'rotaryEmbedding 1 token (q+k) (graph)',
      () => rotaryEmbedding({ positions: p1, query: q1.columns(0, NH * D), key: q1.columns(NH * D, NKV * D), cosSinCache: cosSin, numHeads: NH, numKvHeads: NKV, headDim: D }, { stream }),
      { bytes: 2 * (NH + NKV) * D * 2 + D * 4 },
    );
    benchGraph(
      'rotaryEmbeddingWithKvCache 1 token (graph)',
      () => rotaryEmbeddingWithKvCache({ positions: p1, query: q1.columns(0, NH * D), key: q1.columns(NH * D, NKV * D), value: q1.columns((NH + NKV) * D, NKV * D), cosSinCache: cosSin, numHeads: NH, numKvHeads: NKV, headDim: D, keyCache: kc, valueCache: vc, slotMapping: slots.rows(0, 1) }, { stream }),
      { bytes: 2 * (NH + NKV) * D * 2 + 3 * NKV * D * 2 + D * 4 },
    );
    benchGraph(
      'writeKvCache 1 token (graph)',
      () => writeKvCache({ key: q1.columns(NH * D, NKV * D), value: q1.columns((NH + NKV) * D, NKV * D), keyCache: kc, valueCache: vc, slotMapping: slots.rows(0, 1) }, { stream }),
      { bytes: 2 * 2 * NKV * D * 2 },
    );
  }

  for (const t of [x, r, qkv, kc, vc]) t.free();
}

// Decode attention, both kernels forced through VLLM_TS_DECODE_ATTENTION (read at each launch): the one-launch
// split kernel (rows without a tag; the default for <= 8 (sequence, kv head) pairs) and the two-pass pair.
// Batches up to 32 are timed as graph replays (a decode step replays a graph; eager timing would measure the
// host's launch rate). Their K/V (4-16 MB) stay in the 60 MB L2 across replays, unlike in a model's step.
{
  const B = 64;
  const ctx = 4096;
  const dBlocks = ctx / blockSize;
  const dk = random([B * dBlocks, blockSize, NKV, D], 'bfloat16');
  const dv = random([B * dBlocks, blockSize, NKV, D], 'bfloat16');
  const dTables = ints(rng.permutation(B * dBlocks), [B, dBlocks]);
  const q = random([B, NH * D], 'bfloat16');
  const dOut = DeviceTensor.empty([B, NH * D], 'bfloat16');
  tensors.push(dOut);
  const decodeRow = (label: string, batch: number, len: number, graph: boolean) => {
    const ws = DeviceTensor.empty([decodeWorkspaceFloats(batch, NH, NKV, D, len)], 'float32');
    tensors.push(ws);
    const lens = ints(Array.from({ length: batch }, () => len), [batch]);
    // Each sequence's blocks from the permuted pool (a batch of b reads b x len tokens of scattered blocks).
    const tables = dTables.rows(0, batch);
    const fn = () => pagedAttentionDecode({ out: dOut.rows(0, batch), query: q.rows(0, batch), keyCache: dk, valueCache: dv, blockTables: tables, seqLens: lens, maxSeqLen: len, numHeads: NH, scale: 1 / Math.sqrt(D), workspace: ws }, { stream });
    (graph ? benchGraph : bench)(label, fn, { bytes: 2 * batch * len * NKV * D * 2 });
  };
  for (const kernel of ['one-launch', 'two-pass'] as const) {
    process.env.VLLM_TS_DECODE_ATTENTION = kernel;
    const tag = kernel === 'two-pass' ? ', two-pass' : '';
    decodeRow(`pagedAttentionDecode 1 x 1024 ctx${tag} (graph)`, 1, 1024, true);
    decodeRow(`pagedAttentionDecode 1 x 4096 ctx${tag} (graph)`, 1, 4096, true);
    decodeRow(`pagedAttentionDecode 8 x 1024 ctx${tag} (graph)`, 8, 1024, true);
    decodeRow(`pagedAttentionDecode 32 x 1024 ctx${tag} (graph)`, 32, 1024, true);
    decodeRow(`pagedAttentionDecode 64 x 2048 ctx${tag}`, 64, 2048, false);
    decodeRow(`pagedAttentionDecode 64 x 4096 ctx${tag}`, 64, 4096, false);
    // The same bytes and query heads per kv head, laid out as 512 sequences of one kv head: a kv head's keys
    // are then whole contiguous cache rows instead of 256-byte pieces 2 KB apart (the layout's cost).
    {
      const ctx1 = 2048;
      const b1 = B * NKV;
      const k1 = dk.view([B * dBlocks * NKV, blockSize, 1, D]);
      const v1 = dv.view([B * dBlocks * NKV, blockSize, 1, D]);
      const tables1 = ints(rng.permutation(b1 * (ctx1 / blockSize)), [b1, ctx1 / blockSize]);
      const lens1 = ints(Array.from({ length: b1 }, () => ctx1), [b1]);
      const ws1 = DeviceTensor.empty([decodeWorkspaceFloats(b1, NH / NKV, 1, D, ctx1)], 'float32');
      tensors.push(ws1);
      const q1 = q.view([b1, (NH / NKV) * D]);
      const o1 = dOut.view([b1, (NH / NKV) * D]);
      bench(
        `pagedAttentionDecode 512 x 2048 ctx, 1 kv head${tag}`,
        () => pagedAttentionDecode({ out: o1, query: q1, keyCache: k1, valueCache: v1, blockTables: tables1, seqLens: lens1, maxSeqLen: ctx1, numHeads: NH / NKV, scale: 1 / Math.sqrt(D), workspace: ws1 }, { stream }),
        { bytes: 2 * b1 * ctx1 * D * 2 },
      );
    }
    delete process.env.VLLM_TS_DECODE_ATTENTION;
  }
  for (const t of [dk, dv]) t.free();
}


// GEMMs of one decode token (weight-read bound) and of a 4096-token prefill (FLOP bound).
if (!decodeOnly) for (const [label, n, k] of [['qkv', (NH + 2 * NKV) * D, H], ['o_proj', H, NH * D], ['gate_up', 2 * I, H], ['down', H, I], ['lm_head', V, H]] as const) {
  const w = random([n, k], 'bfloat16', 0.05);
  for (const m of [1, 4096]) {
    if (label === 'lm_head' && m > 1) continue;
    const a = random([m, k], 'bfloat16');
    const out = DeviceTensor.empty([m, n], label === 'lm_head' ? 'float32' : 'bfloat16');
    tensors.push(out);
    const work = m === 1 ? { bytes: n * k * 2 } : { flops: 2 * m * n * k };
    bench(`gemm ${label} m=${m} (${n}x${k})`, () => gemm({ out, a, weight: w }, { stream }), work);
    if (m === 1) {
      // Four weight copies in turn, so consecutive calls cannot hit the 60 MB L2 (as in a model's layers).
      const ws = [w, random([n, k], 'bfloat16', 0.05), random([n, k], 'bfloat16', 0.05), random([n, k], 'bfloat16', 0.05)];
      let gi = 0;
      benchGraph(`gemm ${label} m=1 (graph)`, () => gemm({ out, a, weight: ws[gi++ % 4]! }, { stream }), work);
      let vi = 0;
      benchGraph(`gemv ${label} m=1 (graph)`, () => gemv({ out, a, weight: ws[vi++ % 4]! }, { stream }), work);
      for (const extra of ws.slice(1)) extra.free();
    }
    a.free();
    out.free();
  }
  w.free();
}

// Sampling over the Llama-3 vocabulary.
if (!decodeOnly) {
  const R = 256;
  const logits = random([R, V], 'float32', 3);
  const ids = DeviceTensor.empty([R], 'int32');
  tensors.push(ids);
  bench('argmax 256 x 128256 fp32', () => argmax(ids, logits, { stream }), { bytes: R * V * 4 });
  const temp = floats(Array(R).fill(0.8), [R]);
  const topK = ints(Array(R).fill(50), [R]);
  const topP = floats(Array(R).fill(0.9), [R]);
  const minP = floats(Array(R).fill(0), [R]);
  const u = floats(Array.from({ length: R }, () => rng.next()), [R]);
  bench('sample top-k 50 top-p 0.9, 256 rows', () => sample({ out: ids, logits, temperature: temp, topK, topP, minP, uniform: u }, { stream }), { bytes: R * V * 4 });
  const counts = DeviceTensor.empty([R, V], 'int32');
  tensors.push(counts);
  const prompt = ints(Int32Array.from({ length: R * 1024 }, () => rng.int(0, V)), [R, 1024]);
  const output = ints(Int32Array.from({ length: R * 256 }, () => rng.int(0, V)), [R, 256]);
  const rep = floats(Array(R).fill(1.1), [R]);
  const fp = floats(Array(R).fill(0.1), [R]);
  bench('applyPenalties 256 rows', () => applyPenalties({ logits, counts, promptTokens: prompt, outputTokens: output, repetition: rep, frequency: fp, presence: fp }, { stream }), { bytes: R * V * (4 * 2 + 4 * 3) });
}

stream.synchronize();
for (const t of tensors) if (!t.isFreed) t.free();

const copy = rows.find((r) => r.name.startsWith('ceiling: D2D'))!;
const mm = rows.find((r) => r.name.startsWith('ceiling: cuBLASLt'));
const copyGBs = copy.bytes! / copy.ms / 1e6;
const gemmTflops = mm ? mm.flops! / mm.ms / 1e9 : Number.NaN;
let peer: Record<string, number> = {};
if (process.env.TORCH_PEER_JSON) {
  try {
    peer = JSON.parse(readFileSync(process.env.TORCH_PEER_JSON, 'utf8')) as Record<string, number>;
  } catch (error) {
    console.log(`no PyTorch peer results: ${(error as Error).message}`);
  }
}
const table = rows.map((r) => {
  const rate = r.bytes !== undefined ? `${(r.bytes / r.ms / 1e6).toFixed(0)} GB/s` : `${(r.flops! / r.ms / 1e9).toFixed(1)} TFLOP/s`;
  const ofCeiling = r.bytes !== undefined ? (r.bytes / r.ms / 1e6 / copyGBs) * 100 : ((r.flops! / r.ms / 1e9) / gemmTflops) * 100;
  const torchMs = peer[r.name];
  return [r.name, r.ms.toFixed(4), rate, `${ofCeiling.toFixed(0)}%`, torchMs ? torchMs.toFixed(4) : '-', torchMs ? `${(torchMs / r.ms).toFixed(2)}x` : '-'];
});
const outPath = process.env.BENCH_OUT ?? new URL('./results/kernels.json', import.meta.url).pathname;
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify({ date: new Date().toISOString(), device, copyGBs, gemmTflops, rows, peer }, null, 2)}\n`);
console.log(`\nceilings: copy ${copyGBs.toFixed(0)} GB/s (read + write), cuBLASLt bf16 GEMM ${gemmTflops.toFixed(0)} TFLOP/s`);
console.log(formatTable(['kernel', 'ms', 'achieved', 'of ceiling', 'torch ms', 'torch/ours'], table));
