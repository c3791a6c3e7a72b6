// Offline throughput through the whole engine: V1 (engine core in a worker thread) against V0 (one
// loop in this thread) and against the bare engine core (scheduler + runner, no front end), all in
// one run on the same workload, taking turns. Prints a table last and writes bench-results/engine-throughput.json.
//
//   npm run bench -w @vllm-ts/engine   (or: npx tsx --conditions=@vllm-ts/source bench/engine-throughput.ts [--runs 3] [--workload tiny])
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestId, resolveSamplingParams } from '@vllm-ts/core';
import { modelFixtureDir } from '@vllm-ts/fixtures';
import { LLM } from '../src/index.js';
import { resolveEngineArgs } from '../src/config/engine-args.js';
import { buildEngineCore } from '../src/core/build-engine-core.js';
import { createScheduler } from '../src/core/scheduler-registry.js';
import { loadModelRunner } from '../src/runner/model-runner.js';

const flag = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const RUNS = Number(flag('--runs')) || 3;
/** `--workload tiny` runs only the workloads whose name contains it. */
const ONLY = flag('--workload');

interface Workload {
  readonly name: string;
  readonly model: string;
  readonly tokenizer: string;
  readonly loadFormat: 'auto' | 'dummy';
  readonly numRequests: number;
  readonly promptLen: number;
  readonly outputLen: number;
}

/** A ~25M-parameter Llama (hidden 512, 8 layers, vocab 8192) with random weights. */
function dummyModelDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vllm-ts-bench-'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 512,
      intermediate_size: 1408,
      num_hidden_layers: 8,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      vocab_size: 8192,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
      torch_dtype: 'float32',
    }),
  );
  return dir;
}

/** The workload's prompts (random ids); `seed` 1 gives warm-up prompts that share no prefix with them. */
function prompts(w: Workload, seed = 0): number[][] {
  let x = 12345 + seed * 7919;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x);
  return Array.from({ length: w.numRequests }, () => Array.from({ length: w.promptLen }, () => 3 + (rand() % 2900)));
}

const args = (w: Workload) => ({ model: w.model, tokenizer: w.tokenizer, loadFormat: w.loadFormat, maxModelLen: 512, kvCacheMemoryBytes: 64 << 20 });

/** One engine under test: `run()` times the workload once (after a warm-up at creation). */
interface Contender {
  readonly name: string;
  run(): Promise<number>;
  close(): Promise<void>;
}

async function llmContender(w: Workload, engineVersion: 'v0' | 'v1'): Promise<Contender> {
  const llm = await LLM.create({ ...args(w), engineVersion });
  const generate = (ps: number[][], maxTokens: number) =>
    llm.generate(ps.map((p) => ({ promptTokenIds: p })), { temperature: 0, maxTokens, ignoreEos: true });
  // Warm-up: the worker thread is a fresh isolate whose JIT starts cold.
  await generate(prompts(w, 1).slice(0, 4), 8);
  return {
    name: engineVersion === 'v1' ? 'LLM, V1 (worker thread)' : 'LLM, V0 (this thread)',
    async run() {
      const t0 = performance.now();
      const outs = await generate(prompts(w), w.outputLen);
      const seconds = (performance.now() - t0) / 1000;
      if (outs.some((o) => o.outputs[0]!.tokenIds.length !== w.outputLen)) throw new Error('short output');
      // NOTE: later runs must not read this run's prefix cache.
      await llm.llmEngine.resetPrefixCache();
      return seconds;
    },
    close: () => llm.close(),
  };
}

async function coreContender(w: Workload): Promise<Contender> {
  const { core, runner } = await buildEngineCore(resolveEngineArgs(args(w)), w.model, { loadRunner: loadModelRunner, createScheduler });
  let round = 0;
  const runOnce = (ps: number[][], maxTokens: number) => {
    const params = resolveSamplingParams({ temperature: 0, maxTokens, ignoreEos: true });
    round++;
    ps.forEach((p, i) => core.addRequest({ reqId: requestId(`${round}-${i}`), promptTokenIds: p, samplingParams: params, eosTokenId: 2, arrivalTime: 0 }));
    while (core.hasWork()) core.step();
    core.resetPrefixCache();
  };
  runOnce(prompts(w, 1).slice(0, 4), 8);
  return {
    name: 'engine core only (no front end)',
    async run() {
      const t0 = performance.now();
      runOnce(prompts(w), w.outputLen);
      return (performance.now() - t0) / 1000;
    },
    close: async () => runner.close(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const workloads: Workload[] = [
  { name: 'tiny-llama (0.5M)', model: modelFixtureDir('tiny-llama'), tokenizer: modelFixtureDir('tiny-llama'), loadFormat: 'auto', numRequests: 16, promptLen: 128, outputLen: 64 },
  { name: 'dummy 25M', model: dummyModelDir(), tokenizer: modelFixtureDir('tiny-llama'), loadFormat: 'dummy', numRequests: 16, promptLen: 64, outputLen: 32 },
];

const rows: Record<string, string | number>[] = [];
for (const w of workloads.filter((x) => ONLY === undefined || x.name.includes(ONLY))) {
  // All three engines are loaded at once and take turns, so drifting machine load hits them alike.
  const contenders = [await coreContender(w), await llmContender(w, 'v1'), await llmContender(w, 'v0')];
  const times = new Map<Contender, number[]>(contenders.map((c) => [c, []]));
  for (let i = 0; i < RUNS; i++) for (const c of contenders) times.get(c)!.push(await c.run());
  for (const c of contenders) {
    const ts = times.get(c)!;
    const s = median(ts);
    const outTokens = w.numRequests * w.outputLen;
    rows.push({
      workload: `${w.name}: ${w.numRequests} x (${w.promptLen} in, ${w.outputLen} out)`,
      engine: c.name,
      'median s': Number(s.toFixed(3)),
      'output tok/s': Math.round(outTokens / s),
      'total tok/s': Math.round((outTokens + w.numRequests * w.promptLen) / s),
      runs: ts.map((t) => t.toFixed(2)).join(' '),
    });
    console.log(`${w.name} / ${c.name}: ${ts.map((t) => t.toFixed(3)).join(', ')} s`);
    await c.close();
  }
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench-results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'engine-throughput.json'), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, rows }, null, 2));
console.table(rows);
