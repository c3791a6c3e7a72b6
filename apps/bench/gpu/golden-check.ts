// The engine's GPU golden check without vitest (the GPU machine's bundle carries no test runner):
// every fixture model through LLM on `device: 'cuda'` in float32 must reproduce all greedy tokens of
// the float64 transformers reference (V1 with graphs and prefix caching, V1 eager with 8-token
// chunks, V0); bf16 must agree on a prefix of each continuation. The same checks as
// packages/engine/src/engine-golden-cuda.test.ts. Exits 1 on any mismatch.
//   node .device/bench/golden-check.mjs   (from the repo root; fixtures are read from tooling/fixtures)
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LLM, SamplingParams, type EngineArgs } from '@vllm-ts/engine';

interface Fixtures {
  MODEL_FIXTURES: readonly string[];
  modelFixtureDir(name: string): string;
  modelReference(name: string): { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
}
// NOTE: loaded from the tree at run time so its data folder resolves next to it, not next to the bundle.
const fixtures = (await import(pathToFileURL(join(process.cwd(), 'tooling/fixtures/index.js')).href)) as Fixtures;
const GREEDY = new SamplingParams({ temperature: 0, maxTokens: 24, ignoreEos: true });

async function generate(name: string, args: EngineArgs): Promise<number[][]> {
  const ref = fixtures.modelReference(name);
  const llm = await LLM.create({ model: fixtures.modelFixtureDir(name), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, ...args });
  try {
    const outs = await llm.generate(ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids })), GREEDY);
    return outs.map((o) => [...o.outputs[0]!.tokenIds]);
  } finally {
    await llm.close();
  }
}

let failures = 0;
const cases: [string, EngineArgs][] = [
  ['V1 fp32, graphs, prefix caching', { device: 'cuda', dtype: 'float32' }],
  ['V1 fp32 eager, 8 tokens per step', { device: 'cuda', dtype: 'float32', enforceEager: true, maxNumBatchedTokens: 8, enablePrefixCaching: false }],
  ['V0 fp32', { device: 'cuda', dtype: 'float32', engineVersion: 'v0' }],
];
for (const name of fixtures.MODEL_FIXTURES) {
  const want = fixtures.modelReference(name).prompts.map((p) => p.greedy_ids);
  for (const [label, args] of cases) {
    const got = await generate(name, args);
    const ok = JSON.stringify(got) === JSON.stringify(want);
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} ${label}: ${got.flat().filter((t, i) => t === want.flat()[i]).length}/${want.flat().length} tokens equal`);
  }
  const bf16 = await generate(name, { device: 'cuda', dtype: 'bfloat16' });
  const prefix = bf16.map((t, i) => {
    const k = t.findIndex((id, j) => id !== want[i]![j]);
    return k === -1 ? 24 : k;
  });
  const ok = prefix.every((k) => k >= 1);
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} bf16: greedy prefix agreement ${prefix.join(', ')} of 24`);
}
console.log(failures === 0 ? 'golden check: all passed' : `golden check: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
