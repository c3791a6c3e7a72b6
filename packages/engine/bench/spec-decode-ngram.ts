// N-gram proposer cost per decode step on long contexts: the incremental index (NgramProposer, what
// the engine uses) against vLLM's one-pass KMP (findNgramDraft, the peer), on the same token streams
// in one run, taking turns. Prints a table last and writes bench-results/spec-decode-ngram.json.
//
//   npx tsx --conditions=@vllm-ts/source bench/spec-decode-ngram.ts [--runs 5]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestId, type RequestId } from '@vllm-ts/core';
import { NgramProposer, findNgramDraft } from '../src/spec-decode/index.js';

const flag = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const RUNS = Number(flag('--runs')) || 5;
const K = 5;
const MIN_N = 2;
const MAX_N = 5;
const MAX_MODEL_LEN = 1 << 20;
const NUM_REQUESTS = 16;
const STEPS = 64;
const VOCAB = 32_000;

/** Deterministic xorshift stream of token ids. */
function tokenStream(seed: number): () => number {
  let s = seed | 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % VOCAB;
  };
}

interface Workload {
  readonly name: string;
  readonly contextLen: number;
  /** Repetitive: the second half of the prompt quotes the first (code editing); else random tokens. */
  readonly repetitive: boolean;
}

/** Prompts plus, per step, the tokens each request appends (the accepted draft plus one, or one new token). */
function makeTrace(w: Workload, seed: number): { prompts: number[][]; steps: number[][][] } {
  const next = tokenStream(seed);
  const prompts: number[][] = [];
  for (let r = 0; r < NUM_REQUESTS; r++) {
    const half = Array.from({ length: w.contextLen >> 1 }, next);
    prompts.push(w.repetitive ? [...half, ...half.slice(0, half.length - 7)] : [...half, ...Array.from({ length: half.length }, next)]);
  }
  const seqs = prompts.map((p) => p.slice());
  const steps: number[][][] = [];
  for (let s = 0; s < STEPS; s++) {
    steps.push(
      seqs.map((seq) => {
        const draft = findNgramDraft(seq, MIN_N, MAX_N, K, MAX_MODEL_LEN);
        const add = [...draft, next()];
        seq.push(...add);
        return add;
      }),
    );
  }
  return { prompts, steps };
}

type Method = 'index (NgramProposer)' | 'KMP pass (findNgramDraft)';
const METHODS: Method[] = ['index (NgramProposer)', 'KMP pass (findNgramDraft)'];

/** Microseconds per request-step spent proposing (appends included); the drafts' checksum guards equal results. */
function measure(method: Method, trace: ReturnType<typeof makeTrace>): { usPerStep: number; setupMs: number; checksum: number } {
  const ids: RequestId[] = trace.prompts.map((_, i) => requestId(`r${i}`));
  let checksum = 0;
  const sum = (d: readonly number[] | undefined): void => {
    for (const t of d ?? []) checksum = (checksum * 31 + t + 1) % 1_000_000_007;
  };
  const t0 = performance.now();
  if (method === 'index (NgramProposer)') {
    const p = new NgramProposer({ numSpeculativeTokens: K, promptLookupMin: MIN_N, promptLookupMax: MAX_N, maxModelLen: MAX_MODEL_LEN });
    trace.prompts.forEach((prompt, i) => p.addRequest(ids[i]!, prompt));
    const t1 = performance.now();
    for (const step of trace.steps) {
      step.forEach((add, i) => p.appendTokens(ids[i]!, add));
      const drafts = p.propose(ids);
      for (const id of ids) sum(drafts.get(id));
    }
    return { usPerStep: ((performance.now() - t1) * 1000) / (STEPS * NUM_REQUESTS), setupMs: t1 - t0, checksum };
  }
  const seqs = trace.prompts.map((p) => p.slice());
  const t1 = performance.now();
  for (const step of trace.steps) {
    step.forEach((add, i) => seqs[i]!.push(...add));
    for (const seq of seqs) sum(findNgramDraft(seq, MIN_N, MAX_N, K, MAX_MODEL_LEN));
  }
  return { usPerStep: ((performance.now() - t1) * 1000) / (STEPS * NUM_REQUESTS), setupMs: t1 - t0, checksum };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

const workloads: Workload[] = [
  { name: 'repetitive 2k', contextLen: 2048, repetitive: true },
  { name: 'random 2k', contextLen: 2048, repetitive: false },
  { name: 'repetitive 32k', contextLen: 32_768, repetitive: true },
  { name: 'random 32k', contextLen: 32_768, repetitive: false },
];

const results: Array<Record<string, unknown>> = [];
for (const w of workloads) {
  const trace = makeTrace(w, 12345);
  const samples = new Map<Method, { us: number[]; setup: number[]; checksum: number }>();
  for (let run = 0; run < RUNS; run++) {
    for (const m of METHODS) {
      const r = measure(m, trace);
      const s = samples.get(m) ?? { us: [], setup: [], checksum: r.checksum };
      if (s.checksum !== r.checksum) throw new Error(`${m} proposed different drafts on ${w.name}`);
      s.us.push(r.usPerStep);
      s.setup.push(r.setupMs);
      samples.set(m, s);
    }
  }
  const checksums = new Set([...samples.values()].map((s) => s.checksum));
  if (checksums.size !== 1) throw new Error(`methods disagree on ${w.name}`);
  for (const m of METHODS) {
    const s = samples.get(m)!;
    results.push({
      workload: w.name,
      method: m,
      medianUsPerRequestStep: +median(s.us).toFixed(2),
      minUsPerRequestStep: +Math.min(...s.us).toFixed(2),
      medianSetupMsPerPrompt: +(median(s.setup) / NUM_REQUESTS).toFixed(2),
    });
  }
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench-results', 'spec-decode-ngram.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ runs: RUNS, k: K, promptLookupMin: MIN_N, promptLookupMax: MAX_N, requests: NUM_REQUESTS, steps: STEPS, results }, null, 2) + '\n');
console.log(`n-gram proposer, median and min of ${RUNS} runs, ${NUM_REQUESTS} requests x ${STEPS} steps, k=${K}, n in [${MIN_N}, ${MAX_N}] (identical drafts checked)`);
console.table(results);
