// Async scheduling on the GPU without vitest (a bundle the GPU machine runs with Node alone; the
// test runner's node_modules do not fit the device transfer next to the tree): the checks of
// src/engine-golden-cuda-async.test.ts and the tokenGather kernel's test, plus the synchronous
// float32 golden check as a regression of the runner's submit/collect split. Exits 1 on any failure.
//   node .device/async/bench/async-gpu-check.mjs   (from the repo root; fixtures from tooling/fixtures)
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { allocPinned, CudaStream, DeviceTensor, synchronizeDevice, tokenGather, tokenGatherReference } from '@vllm-ts/cuda';
import { LLM, SamplingParams, type EngineArgs, type SamplingParamsInit } from '@vllm-ts/engine';

interface Fixtures {
  MODEL_FIXTURES: readonly string[];
  modelFixtureDir(name: string): string;
  modelReference(name: string): { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
}
// NOTE: loaded from the tree at run time so its data folder resolves next to it, not next to the bundle.
const fixtures = (await import(pathToFileURL(join(process.cwd(), 'tooling/fixtures/index.js')).href)) as Fixtures;

let failures = 0;
function report(ok: boolean, label: string, detail = ''): void {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}${detail ? `: ${detail}` : ''}`);
}

async function generate(name: string, args: EngineArgs, params: SamplingParamsInit[]): Promise<{ tokens: number[][]; logprobs: number[][]; usage: number }> {
  const ref = fixtures.modelReference(name);
  const llm = await LLM.create({ model: fixtures.modelFixtureDir(name), device: 'cuda', dtype: 'float32', maxModelLen: 640, kvCacheMemoryBytes: 1 << 24, ...args });
  try {
    const outs = await llm.generate(
      ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids })),
      ref.prompts.map((_, i) => new SamplingParams(params[i % params.length]!)),
    );
    return {
      tokens: outs.map((o) => [...o.outputs[0]!.tokenIds]),
      logprobs: outs.map((o) => (o.outputs[0]!.logprobs ?? []).map((e) => e!.chosen.logprob)),
      usage: llm.llmEngine.getSchedulerStats()!.kvCacheUsage,
    };
  } finally {
    await llm.close();
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const GREEDY: SamplingParamsInit = { temperature: 0, maxTokens: 24, ignoreEos: true };

// tokenGather against its reference on random data.
{
  const stream = CudaStream.create();
  const owned: DeviceTensor[] = [];
  try {
    let ok = true;
    for (const [d, s, n] of [[1, 1, 1], [600, 300, 257], [4096, 512, 512]] as const) {
      const dstHost = Int32Array.from({ length: d }, () => Math.floor(Math.random() * 2000) - 1000);
      const srcHost = Int32Array.from({ length: s }, () => Math.floor(Math.random() * 150_000));
      const perm = Int32Array.from({ length: d }, (_, i) => i).sort(() => Math.random() - 0.5);
      const dstIdx = perm.subarray(0, n);
      const srcIdx = Int32Array.from({ length: n }, () => Math.floor(Math.random() * s));
      const dst = DeviceTensor.fromHost(dstHost, [d], 'int32');
      const src = DeviceTensor.fromHost(srcHost, [s], 'int32');
      const indices = DeviceTensor.empty([2 * n], 'int32');
      owned.push(dst, src, indices);
      tokenGather({ dst, src, dstIdx, srcIdx, staging: new Int32Array(allocPinned(8 * n)), indices }, { stream });
      stream.synchronize();
      ok &&= same([...dst.toHost()], [...tokenGatherReference(dstHost, srcHost, dstIdx, srcIdx)]);
    }
    report(ok, 'tokenGather matches its reference (random sizes and indices)');
  } finally {
    synchronizeDevice();
    for (const t of owned) t.free();
    stream.destroy();
  }
}

for (const name of fixtures.MODEL_FIXTURES) {
  const want = fixtures.modelReference(name).prompts.map((p) => p.greedy_ids);
  const cases: [string, EngineArgs][] = [
    ['sync, graphs', {}],
    ['async, graphs, prefix caching', { asyncScheduling: true, blockSize: 16 }],
    ['async, eager, 8 tokens per step', { asyncScheduling: true, enforceEager: true, maxNumBatchedTokens: 8, enablePrefixCaching: false }],
  ];
  for (const [label, args] of cases) {
    const got = await generate(name, args, [GREEDY]);
    const equal = got.tokens.flat().filter((t, i) => t === want.flat()[i]).length;
    report(same(got.tokens, want) && got.usage === 0, `${name} fp32 ${label}`, `${equal}/${want.flat().length} greedy tokens equal, KV usage ${got.usage}`);
  }
}

{
  const mix: SamplingParamsInit[] = [
    GREEDY,
    { ...GREEDY, logprobs: 2 },
    { ...GREEDY, repetitionPenalty: 1.3, presencePenalty: 0.5 },
    { ...GREEDY, minTokens: 6 },
    { ...GREEDY, promptLogprobs: 1 },
  ];
  const sync = await generate('tiny-llama', {}, mix);
  const pipelined = await generate('tiny-llama', { asyncScheduling: true }, mix);
  const worst = Math.max(0, ...pipelined.logprobs.flatMap((row, i) => row.map((l, j) => Math.abs(l - sync.logprobs[i]![j]!))));
  report(same(pipelined.tokens, sync.tokens) && worst < 1e-4, 'async: logprobs / penalties / min tokens / prompt logprobs mixed with plain requests = sync', `max |logprob diff| ${worst}`);
}

{
  const seeded: SamplingParamsInit[] = [
    { temperature: 0.9, topP: 0.95, maxTokens: 16, ignoreEos: true, seed: 11 },
    { temperature: 0.7, topK: 20, maxTokens: 16, ignoreEos: true, seed: 5 },
    { temperature: 0, maxTokens: 16, ignoreEos: true },
  ];
  for (const enforceEager of [false, true]) {
    const sync = await generate('tiny-qwen3', { enforceEager }, seeded);
    const pipelined = await generate('tiny-qwen3', { enforceEager, asyncScheduling: true }, seeded);
    report(same(pipelined.tokens, sync.tokens), `async: seeded sampling = sync (${enforceEager ? 'eager' : 'graphs'})`);
  }
}

console.log(failures === 0 ? 'async GPU check: all passed' : `async GPU check: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
