// What the HTTP layer costs: the same streaming workload run in-process through AsyncLLM.generate
// (the peer) and through `vllm-ts serve` over HTTP/SSE, alternating, in one run.
// Usage: npm run bench [-- --model DIR] (default: the bundled model, else the tiny-qwen3 fixture).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncLLM, SamplingParams } from '@vllm-ts/engine';
import { createServer } from '../src/create-server.js';
import { resolveServeModel } from '../src/run-serve.js';
import type { ServerEngine } from '../src/engine-types.js';
import { FakeEngine } from '../src/test-support/fake-engine.js';

const REPS = 5;
const MAX_TOKENS = 16;
const CONCURRENCY = [1, 8, 32];

interface Run {
  seconds: number;
  tokens: number;
  ttft: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const prompt = (i: number) => `Request ${i}: tell me a story about the sea and the ships that sail on it.`;

async function inProcess(engine: ServerEngine, concurrency: number, tag: string, maxTokens = MAX_TOKENS): Promise<Run> {
  const t0 = performance.now();
  const ttft: number[] = [];
  let tokens = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const start = performance.now();
      let first = true;
      const params = new SamplingParams({ maxTokens, ignoreEos: true, seed: i });
      for await (const out of engine.generate({ promptTokenIds: engine.tokenizer.encode(prompt(i)) }, params, `${tag}-${i}`, { outputKind: 'delta' })) {
        const n = out.outputs[0]?.tokenIds.length ?? 0;
        if (n > 0 && first) {
          ttft.push(performance.now() - start);
          first = false;
        }
        tokens += n;
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, tokens, ttft };
}

// A lean SSE client on node:http (fetch's web streams cost more per chunk than the server does).
function streamOne(base: URL, body: string, onEvent: (data: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: base.hostname, port: base.port, path: '/v1/completions', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (text: string) => {
          buffer += text;
          let at: number;
          while ((at = buffer.indexOf('\n\n')) >= 0) {
            onEvent(buffer.slice(6, at));
            buffer = buffer.slice(at + 2);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

async function overHttp(base: string, concurrency: number, maxTokens = MAX_TOKENS): Promise<Run> {
  const url = new URL(base);
  const t0 = performance.now();
  const ttft: number[] = [];
  let tokens = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const start = performance.now();
      let first = true;
      const body = JSON.stringify({ prompt: prompt(i), max_tokens: maxTokens, ignore_eos: true, seed: i, stream: true, stream_options: { include_usage: true } });
      await streamOne(url, body, (event) => {
        if (event === '[DONE]') return;
        const chunk = JSON.parse(event) as { choices: { text: string }[]; usage?: { completion_tokens: number } };
        if (first && chunk.choices[0]?.text) {
          ttft.push(performance.now() - start);
          first = false;
        }
        if (chunk.usage) tokens += chunk.usage.completion_tokens;
      });
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, tokens, ttft };
}

const modelArg = process.argv.indexOf('--model');
const resolved = await resolveServeModel(modelArg > 0 ? process.argv[modelArg + 1] : undefined);
const engine = await AsyncLLM.create({ ...(resolved.model ? { model: resolved.model } : {}), device: 'cpu' });
const server = createServer({ engine, disableLogRequests: true });
const base = await server.listen({ port: 0 });
// Warm-up: first-call compilation and caches, both paths.
await inProcess(engine, 4, 'warm');
await overHttp(base, 4);

const rows: Record<string, string | number>[] = [];
for (const c of CONCURRENCY) {
  const direct: Run[] = [];
  const http: Run[] = [];
  for (let r = 0; r < REPS; r++) {
    direct.push(await inProcess(engine, c, `c${c}r${r}`));
    http.push(await overHttp(base, c));
  }
  const tps = (runs: Run[]) => median(runs.map((x) => x.tokens / x.seconds));
  const ttft = (runs: Run[]) => median(runs.map((x) => pct(x.ttft, 0.5)));
  const row = {
    concurrency: c,
    'in-process tok/s': Math.round(tps(direct)),
    'HTTP+SSE tok/s': Math.round(tps(http)),
    'HTTP / in-process': Number((tps(http) / tps(direct)).toFixed(3)),
    'in-process TTFT p50 ms': Number(ttft(direct).toFixed(1)),
    'HTTP TTFT p50 ms': Number(ttft(http).toFixed(1)),
  };
  rows.push(row);
}
await server.close({ drainTimeoutMs: 1000 });

// The HTTP layer alone: an engine double that yields a token per macrotask, so the difference is
// what the server (validation, SSE framing, writes) and the client cost per streamed token.
const fake = new FakeEngine({ maxModelLen: 8192 });
const fakeServer = createServer({ engine: fake, disableLogRequests: true });
const fakeBase = await fakeServer.listen({ port: 0 });
const FAKE_TOKENS = 256;
await overHttp(fakeBase, 4, FAKE_TOKENS);
const layer: Record<string, string | number>[] = [];
for (const c of [1, 32]) {
  const direct: Run[] = [];
  const http: Run[] = [];
  for (let r = 0; r < REPS; r++) {
    direct.push(await inProcess(fake, c, `f${c}r${r}`, FAKE_TOKENS));
    http.push(await overHttp(fakeBase, c, FAKE_TOKENS));
  }
  const usPerToken = (runs: Run[]) => median(runs.map((x) => (x.seconds * 1e6) / x.tokens));
  layer.push({
    concurrency: c,
    'engine double in-process µs/token': Number(usPerToken(direct).toFixed(1)),
    'through HTTP+SSE µs/token': Number(usPerToken(http).toFixed(1)),
    'HTTP cost µs/token': Number((usPerToken(http) - usPerToken(direct)).toFixed(1)),
  });
}
await fakeServer.close({ drainTimeoutMs: 1000 });

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
const result = {
  date: new Date().toISOString(),
  model: resolved.note,
  maxTokens: MAX_TOKENS,
  reps: REPS,
  statistic: 'median over reps',
  note: 'shared 2-core machine, loaded by other work: figures are noisy',
  rows,
  httpLayer: layer,
};
writeFileSync(join(here, 'results', 'serve-bench.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`HTTP layer alone (engine double, ${FAKE_TOKENS} tokens per request; client in the same process)`);
console.table(layer);
console.log(`model: ${resolved.note}; ${MAX_TOKENS} tokens per request; median of ${REPS} alternating reps`);
console.table(rows);
