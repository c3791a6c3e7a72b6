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
import { requestId, resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { defaultModelDir } from '../src/config/default-model.js';
import { resolveEngineArgs } from '../src/config/engine-args.js';
import { buildEngineCore } from '../src/core/build-engine-core.js';
import { EngineCore } from '../src/core/engine-core.js';
import { createScheduler } from '../src/core/scheduler-registry.js';
import { loadModelRunner } from '../src/runner/model-runner.js';
import { NgramProposer, resolveSpeculativeConfig, type ResolvedSpeculativeConfig } from '../src/spec-decode/index.js';

const flag = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const RUNS = Number(flag('--runs')) || 5;
const NUM_REQUESTS = 8;
const OUTPUT_LEN = 128;

const dir = defaultModelDir();
const settings = resolveEngineArgs({ model: dir, maxModelLen: 1024, enablePrefixCaching: false });
const { runner, info } = await buildEngineCore(settings, dir, { loadRunner: loadModelRunner, createScheduler });

function makeCore(spec: ResolvedSpeculativeConfig | null): EngineCore {
  const scheduler = createScheduler('v1', {
    numGpuBlocks: info.numGpuBlocks,
    numCpuBlocks: 0,
    blockSize: settings.blockSize,
    maxNumSeqs: info.maxNumSeqs,
    maxNumBatchedTokens: info.maxNumBatchedTokens,
    maxModelLen: info.maxModelLen,
    enablePrefixCaching: false,
    enableChunkedPrefill: settings.enableChunkedPrefill,
    schedulingPolicy: 'fcfs',
    longPrefillTokenThreshold: 0,
    preemptionMode: null,
    schedulerDelayFactor: 0,
    prefixCachingHashAlgo: settings.prefixCachingHashAlgo,
    numSpeculativeTokens: spec?.numSpeculativeTokens ?? 0,
  });
  const onError = (e: unknown): void => {
    throw e;
  };
  if (spec === null) return new EngineCore(scheduler, runner, { onError });
  return new EngineCore(scheduler, runner, { onError, proposer: new NgramProposer({ ...spec, maxModelLen: info.maxModelLen }) });
}

let serial = 0;
function generate(core: EngineCore, prompts: readonly number[][], init: SamplingParamsInit | ((i: number) => SamplingParamsInit)): { tokens: number[][]; steps: number } {
  const tag = `g${serial++}`;
  const tokens = prompts.map(() => [] as number[]);
  prompts.forEach((p, i) =>
    core.addRequest({
      reqId: requestId(`${tag}-${i}`),
      promptTokenIds: p,
      samplingParams: resolveSamplingParams(typeof init === 'function' ? init(i) : init),
      eosTokenId: null,
      arrivalTime: 0,
    }),
  );
  let steps = 0;
  while (core.hasWork()) {
    steps++;
    for (const o of core.step()?.outputs ?? []) tokens[Number(o.reqId.slice(tag.length + 1))]!.push(...o.newTokenIds);
  }
  return { tokens, steps };
}

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
