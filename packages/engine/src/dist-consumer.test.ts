import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';

// What an installed package runs: plain Node, dist/index.js, the worker from dist/engine-core-worker.js,
// dependencies through their own built exports. `npm test` builds before testing.
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const worker = fileURLToPath(new URL('../dist/engine-core-worker.js', import.meta.url));
const built = existsSync(dist) && existsSync(worker);

it.skipIf(!built)('the built package serves V1 through its worker thread (skipped: run the build first)', async () => {
  const ref = modelReference('tiny-llama') as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
  const script = `
    const { LLM } = await import(${JSON.stringify(dist)});
    const llm = await LLM.create({ model: ${JSON.stringify(modelFixtureDir('tiny-llama'))}, maxModelLen: 640, kvCacheMemoryBytes: 1 << 22 });
    const outs = await llm.generate(${JSON.stringify(ref.prompts.slice(0, 3).map((p) => ({ promptTokenIds: p.prompt_ids })))}, { temperature: 0, maxTokens: 24, ignoreEos: true });
    console.log(JSON.stringify({ version: llm.config.engineVersion, tokens: outs.map((o) => o.outputs[0].tokenIds) }));
    await llm.close();`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  expect(JSON.parse(stdout)).toEqual({ version: 'v1', tokens: ref.prompts.slice(0, 3).map((p) => p.greedy_ids) });
});
