// Host sampler cost per token with a logit bias and with allowed token ids, against the same
// Sampler on the same rows without them (the peer), in one run, taking turns. Vocabulary of
// Qwen3 (151,936). Prints a table last and writes bench-results/sampler-logit-bias.json.
//
//   npx tsx --conditions=@vllm-ts/source bench/sampler-logit-bias.ts [--runs 5]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { RandomGenerator } from '../src/sample/random-generator.js';
import { Sampler } from '../src/sample/sampler.js';

const flag = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const RUNS = Number(flag('--runs')) || 5;
const VOCAB = 151_936;
const ROWS = 8;
const TOKENS_PER_RUN = 200;

const gen = new RandomGenerator(1);
// Gaussian logits (std 3), closer to a language model's rows than uniform ones; `--flat` uses uniform
// [-10, 10], a worst case for top-p (about 18k tokens inside the 0.95 nucleus).
const FLAT = process.argv.includes('--flat');
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - gen.nextDouble())) * Math.cos(2 * Math.PI * gen.nextDouble());
const logits = Float32Array.from({ length: VOCAB * ROWS }, () => (FLAT ? (gen.nextDouble() - 0.5) * 20 : 3 * gaussian()));
const bias100 = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [i * 1499, i % 2 === 0 ? 5 : -100]));
const allowed = Array.from({ length: 1000 }, (_, i) => i * 151);

const cases: { name: string; plain: SamplingParamsInit; with: SamplingParamsInit }[] = [
  { name: 'greedy, logit_bias 100 ids', plain: { temperature: 0 }, with: { temperature: 0, logitBias: bias100 } },
  { name: 'T=0.8 top-p 0.95, logit_bias 100 ids', plain: { temperature: 0.8, topP: 0.95 }, with: { temperature: 0.8, topP: 0.95, logitBias: bias100 } },
  { name: 'T=0.8, allowed_token_ids 1000 ids', plain: { temperature: 0.8 }, with: { temperature: 0.8, allowedTokenIds: allowed } },
];

function microsPerToken(sampler: Sampler, init: SamplingParamsInit): number {
  const ctx = { params: resolveSamplingParams(init), promptTokenIds: [], outputTokenIds: [], generator: new RandomGenerator(7) };
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < TOKENS_PER_RUN; i++) sink += sampler.sample(logits, (i % ROWS) * VOCAB, ctx);
  const ns = Number(process.hrtime.bigint() - start);
  if (sink < 0) throw new Error('unreachable');
  return ns / 1000 / TOKENS_PER_RUN;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sampler = new Sampler(VOCAB, []);
const results = cases.map((c) => {
  microsPerToken(sampler, c.plain);
  microsPerToken(sampler, c.with);
  const plain: number[] = [];
  const withIt: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    plain.push(microsPerToken(sampler, c.plain));
    withIt.push(microsPerToken(sampler, c.with));
  }
  return { case: c.name, plainUs: median(plain), withUs: median(withIt), ratio: median(withIt) / median(plain) };
});

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench-results', `sampler-logit-bias${FLAT ? '-flat' : ''}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ vocab: VOCAB, rows: FLAT ? 'uniform [-10, 10]' : 'gaussian std 3', runs: RUNS, tokensPerRun: TOKENS_PER_RUN, results }, null, 2));
console.log(`host Sampler, vocab ${VOCAB}, ${FLAT ? 'uniform' : 'gaussian'} logits, median of ${RUNS} runs x ${TOKENS_PER_RUN} tokens (µs per token); written ${out}`);
console.table(results.map((r) => ({ case: r.case, 'without (peer)': r.plainUs.toFixed(1), with: r.withUs.toFixed(1), 'with / without': r.ratio.toFixed(3) })));
