// N-gram speculative decoding through the engine core on the CPU, bundled default model (KJV Llama):
// greedy generation without speculation against two n-gram configs, on a workload whose prompts
// quote their own text, on plain greedy continuations and on sampled (T=1) ones, taking turns in one run.
// Greedy outputs are checked identical to the run without speculation. Prints a table last and writes
// bench-results/spec-decode-e2e.json.
//
//   npx tsx --conditions=@vllm-ts/source bench/spec-decode-e2e.ts [--runs 5]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SamplingParamsInit } from '@vllm-ts/core';
import { defaultModelDir } from '../src/config/default-model.js';
import { resolveSpeculativeConfig, type ResolvedSpeculativeConfig } from '../src/spec-decode/index.js';
import { generateOnCore as generate, sharedRunnerCores } from '../src/testing/engine-core-harness.js';

const flag = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const RUNS = Number(flag('--runs')) || 5;
const NUM_REQUESTS = 8;
const OUTPUT_LEN = 128;

const makeCore = await sharedRunnerCores(defaultModelDir(), { maxModelLen: 1024 });

// In-distribution text: the model's own samples from distinct one-token openings.
const texts = generate(makeCore(null), Array.from({ length: NUM_REQUESTS }, (_, i) => [0, 200 + 37 * i]), (i) => ({ temperature: 0.8, seed: 1000 + i, maxTokens: 240, ignoreEos: true })).tokens;
const GREEDY: SamplingParamsInit = { temperature: 0, maxTokens: OUTPUT_LEN, ignoreEos: true };
/** Seeded sampling at temperature 1: little repetition, so most drafts are rejected (the cost of speculating). */
const SAMPLED = (i: number): SamplingParamsInit => ({ temperature: 1, seed: 5000 + i, maxTokens: OUTPUT_LEN, ignoreEos: true });
const workloads: Array<{ name: string; prompts: number[][]; params: SamplingParamsInit | ((i: number) => SamplingParamsInit); greedy: boolean }> = [
  { name: 'greedy, prompt quotes its text', prompts: texts.map((t, i) => [0, 200 + 37 * i, ...t, 0, 200 + 37 * i, ...t.slice(0, 8)]), params: GREEDY, greedy: true },
  { name: 'greedy continuation', prompts: texts.map((t, i) => [0, 200 + 37 * i, ...t]), params: GREEDY, greedy: true },
  { name: 'sampled T=1 continuation', prompts: texts.map((t, i) => [0, 200 + 37 * i, ...t]), params: SAMPLED, greedy: false },
];
const modes: Array<{ name: string; spec: ResolvedSpeculativeConfig | null }> = [
  { name: 'off', spec: null },
  { name: 'ngram k=3 n=[2,4]', spec: resolveSpeculativeConfig({ method: 'ngram', numSpeculativeTokens: 3, promptLookupMin: 2, promptLookupMax: 4 }) },
  { name: 'ngram k=5 n=[5,5] (vLLM default n)', spec: resolveSpeculativeConfig({ method: 'ngram', numSpeculativeTokens: 5 }) },
];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const results: Array<Record<string, unknown>> = [];
for (const w of workloads) {
  const reference = generate(makeCore(null), w.prompts, w.params).tokens;
  const times = new Map<string, number[]>();
  const facts = new Map<string, { steps: number; acceptance: number; meanAcceptedLength: number }>();
  for (let run = 0; run < RUNS; run++) {
    for (const m of modes) {
      const core = makeCore(m.spec);
      const t0 = performance.now();
      const { tokens, steps } = generate(core, w.prompts, w.params);
      const ms = performance.now() - t0;
      if (w.greedy && JSON.stringify(tokens) !== JSON.stringify(reference)) throw new Error(`${m.name} changed the greedy output on ${w.name}`);
      const s = core.getStats().specDecoding;
      facts.set(m.name, { steps, acceptance: s.numDraftTokens === 0 ? 0 : s.numAcceptedTokens / s.numDraftTokens, meanAcceptedLength: s.numDrafts === 0 ? 1 : 1 + s.numAcceptedTokens / s.numDrafts });
      times.set(m.name, [...(times.get(m.name) ?? []), ms]);
    }
  }
  const base = median(times.get('off')!);
  for (const m of modes) {
    const ms = median(times.get(m.name)!);
    const f = facts.get(m.name)!;
    results.push({
      workload: w.name,
      mode: m.name,
      medianMs: +ms.toFixed(0),
      outputTokPerS: +((NUM_REQUESTS * OUTPUT_LEN * 1000) / ms).toFixed(0),
      speedup: +(base / ms).toFixed(2),
      engineSteps: f.steps,
      draftAcceptance: +f.acceptance.toFixed(3),
      meanAcceptedLength: +f.meanAcceptedLength.toFixed(2),
    });
  }
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench-results', 'spec-decode-e2e.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ runs: RUNS, requests: NUM_REQUESTS, outputLen: OUTPUT_LEN, model: 'default (KJV Llama 5.8M)', results }, null, 2) + '\n');
console.log(`n-gram speculation end to end (CPU, default model, ${NUM_REQUESTS} requests x ${OUTPUT_LEN} tokens, median of ${RUNS}; greedy outputs identical to "off")`);
console.table(results);
