// CPU forward-pass benchmark: prefill and decode tokens/s of the CPU model runner (WebAssembly SIMD kernels) for each
// fixture model and a ~26M-parameter dummy model, one request and 16 concurrent ones. Compared in
// the same run with Hugging Face transformers on PyTorch (one thread, float32) when python3 with
// torch + transformers is present, and with the arithmetic floor (FLOPs / single-core matmul rate).
// Usage: npm run bench -w @vllm-ts/engine [-- --reps 5 --quick]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockId, emptyKVCacheOps, requestId, resolveSamplingParams, type SchedulerOutput } from '@vllm-ts/core';
import { MODEL_FIXTURES, modelFixtureDir } from '@vllm-ts/fixtures';
import { linear } from '../src/cpu/kernels.js';
import { dummyWeights, loadModelWeights } from '../src/loader/model-weights.js';
import { parseModelConfig, readModelConfig, type ModelConfig } from '../src/model/model-config.js';
import { RandomGenerator } from '../src/sample/random-generator.js';
import { CpuModelRunner } from '../src/runner/cpu-model-runner.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const REPS = Number(args[args.indexOf('--reps') + 1]) || 5;
const QUICK = args.includes('--quick');
const BLOCK = 16;

/** The ~26M-parameter dummy model: hidden 512, 8 layers, GQA 8/4, vocab 8192, tied embeddings. */
const DUMMY_25M = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 512,
  intermediate_size: 1280,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  num_hidden_layers: 8,
  vocab_size: 8192,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
  torch_dtype: 'float32',
};

interface Scenario {
  readonly name: string;
  readonly numReqs: number;
  readonly promptLen: number;
  readonly decodeSteps: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'single', numReqs: 1, promptLen: QUICK ? 64 : 256, decodeSteps: QUICK ? 8 : 32 },
  { name: 'concurrent16', numReqs: 16, promptLen: QUICK ? 16 : 64, decodeSteps: QUICK ? 8 : 32 },
];

interface Row {
  model: string;
  params: number;
  scenario: string;
  prefillTokS: number;
  decodeTokS: number;
  prefillFloorTokS: number;
  decodeFloorTokS: number;
  peerPrefillTokS: number | null;
  peerDecodeTokS: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function paramCount(c: ModelConfig): number {
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const layer = c.hiddenSize * qkv + c.numHeads * c.headDim * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize;
  return c.numLayers * layer + c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2);
}

/** FLOPs of `tokens` tokens at positions `from..from+tokens-1` of one sequence, plus one LM-head row. */
function flops(c: ModelConfig, from: number, tokens: number): number {
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const perToken = 2 * (c.hiddenSize * qkv + c.numHeads * c.headDim * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize) * c.numLayers;
  let attn = 0;
  for (let p = from; p < from + tokens; p++) attn += 4 * (p + 1) * c.numHeads * c.headDim * c.numLayers;
  return tokens * perToken + attn + 2 * c.vocabSize * c.hiddenSize;
}

/** One prefill step for all requests, then `decodeSteps` decode steps; seconds of each phase. */
function runScenario(runner: CpuModelRunner, c: ModelConfig, s: Scenario, rep: number): { prefill: number; decode: number } {
  const rng = new RandomGenerator(rep);
  const blocksPerReq = Math.ceil((s.promptLen + s.decodeSteps + 1) / BLOCK);
  const params = resolveSamplingParams({ temperature: 0, maxTokens: s.decodeSteps + 1 });
  const ids = Array.from({ length: s.numReqs }, (_, i) => requestId(`r${rep}-${i}`));
  const base = (i: number): number => i * blocksPerReq;
  const step = (partial: Partial<SchedulerOutput>, numScheduled: Map<ReturnType<typeof requestId>, number>): SchedulerOutput => ({
    scheduledNewReqs: [],
    scheduledCachedReqs: [],
    scheduledSpecDecodeTokens: new Map(),
    finishedReqIds: new Set(),
    preemptedReqIds: new Set(),
    kvCacheOps: emptyKVCacheOps(),
    numScheduledTokens: numScheduled,
    totalNumScheduledTokens: [...numScheduled.values()].reduce((a, b) => a + b, 0),
    ...partial,
  });
  const news = ids.map((reqId, i) => ({
    reqId,
    promptTokenIds: Array.from({ length: s.promptLen }, () => Math.floor(rng.nextDouble() * c.vocabSize)),
    outputTokenIds: [],
    samplingParams: params,
    blockIds: Array.from({ length: blocksPerReq }, (_, b) => blockId(base(i) + b)),
    numComputedTokens: 0,
    forkedFrom: null,
  }));
  let t0 = performance.now();
  runner.execute(step({ scheduledNewReqs: news }, new Map(ids.map((id) => [id, s.promptLen]))));
  const prefill = (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (let d = 0; d < s.decodeSteps; d++) {
    const cached = ids.map((reqId) => ({ reqId, resumed: false, newBlockIds: [], numComputedTokens: s.promptLen + d, allTokenIds: null }));
    runner.execute(step({ scheduledCachedReqs: cached }, new Map(ids.map((id) => [id, 1]))));
  }
  const decode = (performance.now() - t0) / 1000;
  runner.execute(step({ finishedReqIds: new Set(ids) }, new Map()));
  return { prefill, decode };
}

/** Best single-thread JS linear() rate, FLOP/s, on a [16 x 512] x [512 x 2048] product. */
function jsMatmulRate(): number {
  const rows = 16, inDim = 512, outDim = 2048;
  const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: outDim * inDim }, (_, i) => Math.cos(i));
  const out = new Float32Array(rows * outDim);
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    linear(out, x, w, null, rows, inDim, outDim);
    times.push(performance.now() - t0);
  }
  return (2 * rows * inDim * outDim) / (Math.min(...times) / 1000);
}

function python(script: string, input: unknown, extraEnv: Record<string, string> = {}): unknown | null {
  try {
    const out = execFileSync('python3', [join(HERE, script)], {
      input: JSON.stringify(input),
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', ...extraEnv },
      maxBuffer: 1 << 24,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return JSON.parse(out.toString());
  } catch {
    return null;
  }
}

const models: { name: string; dir: string | null; config: ModelConfig }[] = [
  ...MODEL_FIXTURES.map((name) => ({ name, dir: modelFixtureDir(name), config: readModelConfig(modelFixtureDir(name)) })),
  { name: 'dummy-25m', dir: null, config: parseModelConfig(DUMMY_25M) },
];

const jsRate = jsMatmulRate();
const blas = python('blas-rate.py', {}) as { flops: number } | null;
const floorRate = blas?.flops ?? jsRate;
let peerFound = false;
const rows: Row[] = [];
for (const m of models) {
  // The peer runs right before this model's own measurement, so both see similar machine load.
  const peer = python('peer-transformers.py', {
    reps: REPS,
    scenarios: SCENARIOS,
    models: [{ name: m.name, dir: m.dir, config: m.dir === null ? DUMMY_25M : null }],
  }) as Record<string, Record<string, { prefill: number; decode: number }>> | null;
  peerFound ||= peer !== null;
  const weights = m.dir === null ? dummyWeights(m.config, 1) : loadModelWeights(m.dir, m.config);
  const runner = new CpuModelRunner(m.config, weights);
  runner.initializeKVCache({ numBlocks: 16 * Math.ceil((256 + 40) / BLOCK) + 8, blockSize: BLOCK });
  for (const s of SCENARIOS) {
    for (let w = 0; w < 2; w++) runScenario(runner, m.config, s, 100 + w); // warm-up (JIT, scratch buffers)
    const prefill: number[] = [];
    const decode: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t = runScenario(runner, m.config, s, r);
      prefill.push(t.prefill);
      decode.push(t.decode);
    }
    const prefillTokens = s.numReqs * s.promptLen;
    const decodeTokens = s.numReqs * s.decodeSteps;
    let decodeFlops = 0;
    for (let d = 0; d < s.decodeSteps; d++) decodeFlops += s.numReqs * flops(m.config, s.promptLen + d, 1);
    const p = peer?.[m.name]?.[s.name];
    rows.push({
      model: m.name,
      params: paramCount(m.config),
      scenario: s.name,
      prefillTokS: prefillTokens / median(prefill),
      decodeTokS: decodeTokens / median(decode),
      prefillFloorTokS: prefillTokens / ((s.numReqs * flops(m.config, 0, s.promptLen)) / floorRate),
      decodeFloorTokS: decodeTokens / (decodeFlops / floorRate),
      peerPrefillTokS: p ? prefillTokens / p.prefill : null,
      peerDecodeTokS: p ? decodeTokens / p.decode : null,
    });
  }
  runner.close();
}

const resultsDir = join(HERE, '..', 'bench-results');
mkdirSync(resultsDir, { recursive: true });
const result = {
  date: new Date().toISOString(),
  node: process.version,
  reps: REPS,
  note: 'medians of reps; single thread; the machine may have been shared with other jobs',
  jsMatmulGflops: jsRate / 1e9,
  blasSingleCoreGflops: blas ? blas.flops / 1e9 : null,
  peer: peerFound ? 'transformers + PyTorch CPU, 1 thread, float32, logits_to_keep=1' : 'unavailable (python3 with torch + transformers not found)',
  rows,
};
writeFileSync(join(resultsDir, 'cpu-forward.json'), `${JSON.stringify(result, null, 2)}\n`);

const f = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
console.log(`JS linear(): ${(jsRate / 1e9).toFixed(2)} GFLOP/s; single-core BLAS (numpy/OpenBLAS): ${blas ? (blas.flops / 1e9).toFixed(2) : '-'} GFLOP/s; floor uses ${blas ? 'BLAS' : 'JS'} rate`);
console.log(`peer: ${result.peer}; reps ${REPS}, medians`);
console.table(
  rows.map((r) => ({
    model: r.model,
    params: `${(r.params / 1e6).toFixed(1)}M`,
    scenario: r.scenario,
    'prefill tok/s': f(r.prefillTokS),
    'peer prefill': f(r.peerPrefillTokS),
    'floor prefill': f(r.prefillFloorTokS),
    'prefill % of floor': `${((100 * r.prefillTokS) / r.prefillFloorTokS).toFixed(0)}%`,
    'decode tok/s': f(r.decodeTokS),
    'peer decode': f(r.peerDecodeTokS),
    'floor decode': f(r.decodeFloorTokS),
    'decode % of floor': `${((100 * r.decodeTokS) / r.decodeFloorTokS).toFixed(0)}%`,
  })),
);
