import { InvalidArgumentError } from '@vllm-ts/core';
import { arrivalTimes } from '../arrivals.js';
import { buildDataset, type DatasetFlags } from '../cli-options.js';
import { textTable, writeJson } from '../format.js';
import { startProgress } from '../progress.js';
import { sendCompletion, type RequestMeasurement } from '../serve-client.js';
import { computeServeMetrics, type GoodputSlos, type ServeMetrics } from '../serve-metrics.js';

/** Options of {@link runServeBenchmark}. */
export type ServeBenchOptions = DatasetFlags & {
  baseUrl: string;
  endpoint: string;
  /** Model name to send; absent: the first of `GET /v1/models`. */
  model?: string;
  apiKey?: string;
  requestRate: number;
  burstiness: number;
  maxConcurrency?: number;
  /** Token ids of random prompts are drawn below this. Default 4096. */
  vocabSize: number;
  percentiles: readonly number[];
  goodput?: GoodputSlos;
  outputJson?: string;
};

/** What `serve` reports. */
export interface ServeReport extends ServeMetrics {
  readonly benchmark: 'serve';
  readonly baseUrl: string;
  readonly model: string;
  readonly requestRate: number | 'inf';
  readonly burstiness: number;
  readonly maxConcurrency: number | null;
  readonly goodputSlos: GoodputSlos | null;
  readonly errors: readonly string[];
}

async function firstModel(baseUrl: string, apiKey: string | undefined): Promise<string> {
  const res = await fetch(new URL('/v1/models', baseUrl), { headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` } });
  const body = (await res.json()) as { data?: { id: string }[] };
  const id = body.data?.[0]?.id;
  if (id === undefined) throw new InvalidArgumentError('invalid_option', 'cli', '--model', 'a model name (GET /v1/models listed none)', undefined);
  return id;
}

/**
 * Load-tests an OpenAI-compatible server: requests sent at gamma/Poisson arrival times, at most
 * `maxConcurrency` in flight, each streamed and timed (vLLM `benchmark_serving` metrics).
 * @param o flags
 * @param log where the table goes
 * @returns the report
 * @throws InvalidArgumentError `invalid_option` for the `sonnet` dataset (it needs the server's tokenizer)
 */
export async function runServeBenchmark(o: ServeBenchOptions, log: (s: string) => void = console.log): Promise<ServeReport> {
  if (o.datasetName === 'sonnet') throw new InvalidArgumentError('invalid_option', 'cli', '--dataset-name', 'random, prefix-repetition or custom for serve', 'sonnet');
  const model = o.model ?? (await firstModel(o.baseUrl, o.apiKey));
  // Text prompts are sent as text; their token counts come back in the usage chunk.
  const requests = buildDataset(o, { vocabSize: o.vocabSize, encode: () => [] });
  const offsets = arrivalTimes(requests.length, o.requestRate, o.burstiness, o.seed);
  const target = { baseUrl: o.baseUrl, endpoint: o.endpoint, model, ...(o.apiKey === undefined ? {} : { apiKey: o.apiKey }) };
  const bar = startProgress('serve', requests.length);
  const limit = o.maxConcurrency ?? Infinity;
  let inFlight = 0;
  let peak = 0;
  let done = 0;
  const waiters: (() => void)[] = [];
  const start = performance.now();
  const results: Promise<RequestMeasurement>[] = [];
  for (const [i, r] of requests.entries()) {
    const wait = start + offsets[i]! * 1000 - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    while (inFlight >= limit) await new Promise<void>((res) => waiters.push(res));
    inFlight++;
    peak = Math.max(peak, inFlight);
    results.push(
      sendCompletion(target, r).finally(() => {
        inFlight--;
        bar.update(++done);
        waiters.shift()?.();
      }),
    );
  }
  const ms = await Promise.all(results);
  const durationS = (performance.now() - start) / 1000;
  bar.stop();
  const m = computeServeMetrics(ms, durationS, o.percentiles, o.goodput, peak);
  const report: ServeReport = {
    benchmark: 'serve',
    baseUrl: o.baseUrl,
    model,
    requestRate: o.requestRate === Infinity ? 'inf' : o.requestRate,
    burstiness: o.burstiness,
    maxConcurrency: o.maxConcurrency ?? null,
    goodputSlos: o.goodput ?? null,
    errors: [...new Set(ms.filter((x) => !x.success).map((x) => x.error))].slice(0, 10),
    ...m,
  };
  const p = o.percentiles.map((q) => `p${q}`);
  log(
    textTable(
      ['metric', 'mean', 'median', ...p],
      (['ttftMs', 'tpotMs', 'itlMs', 'e2elMs'] as const).map((k) => [k.replace('Ms', ' (ms)').toUpperCase(), m[k].mean, m[k].median, ...p.map((q) => m[k].percentiles[q] ?? 0)]),
    ),
  );
  log(
    textTable(
      ['completed', 'failed', 'duration s', 'req/s', 'goodput req/s', 'output tok/s', 'total tok/s', 'peak concurrency'],
      [[m.completed, m.failed, m.durationS, m.requestThroughput, m.requestGoodput ?? '-', m.outputThroughput, m.totalTokenThroughput, m.maxConcurrentRequests]],
    ),
  );
  if (o.outputJson !== undefined) writeJson(o.outputJson, report);
  return report;
}
