import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { makeEmptySchedulerStats, type SchedulerStats } from '@vllm-ts/core';
import type { EngineIterationStats, ServerEngine, ServerEngineConfig } from './engine-types.js';

/** Buckets of vLLM's `vllm:time_to_first_token_seconds` (seconds). */
export const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0,
  2560.0,
];
/** Buckets of vLLM's `vllm:inter_token_latency_seconds` (seconds). */
export const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
/** Buckets of vLLM's request latency histograms (e2e, queue, prefill, decode, inference; seconds). */
export const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
];
const ITERATION_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const N_BUCKETS = [1, 2, 5, 10, 20];
const FINISH_REASONS = ['stop', 'length', 'abort', 'error'] as const;

/** Cumulative scheduler counters mirrored by Prometheus counters of the same key. */
type CumulativeKey = 'queries' | 'hits' | 'preemptions' | 'drafts' | 'draftTokens' | 'acceptedTokens';

const IDLE_STATS: SchedulerStats = makeEmptySchedulerStats();

/** The engine's last stats; before its first step (or after it stopped) nothing runs. */
function currentStats(engine: ServerEngine): SchedulerStats {
  try {
    return engine.getSchedulerStats();
  } catch {
    return IDLE_STATS;
  }
}

/** Draft tokens per step of a served engine, 0 without speculation. */
function speculativeTokens(config: ServerEngineConfig): number {
  return config.speculativeConfig?.numSpeculativeTokens ?? 0;
}

/**
 * vLLM's 1-2-5 buckets up to `max`: 1, 2, 5, 10, 20, 50, ... (each <= max).
 * @param max the largest bucket allowed (the model's context length)
 * @returns the buckets
 */
export function build125Buckets(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

/**
 * The Prometheus metrics of one served engine, with vLLM's names, labels (`model_name`,
 * `engine`) and buckets, so dashboards built for vLLM work unchanged. Gauges are read from the
 * engine at scrape time; counters and histograms are fed by the engine's per-step stats.
 */
export class VllmMetrics {
  /** The registry `/metrics` renders (one per server; nothing global). */
  readonly registry = new Registry();
  #engine: ServerEngine | null = null;
  #labels: { model_name: string; engine: string } = { model_name: '', engine: '0' };
  #last: Record<CumulativeKey, number> = { queries: 0, hits: 0, preemptions: 0, drafts: 0, draftTokens: 0, acceptedTokens: 0 };
  #lastAcceptedPerPos: number[] = [];
  #unsubscribe: (() => void) | null = null;
  #interval = { promptTokens: 0, generationTokens: 0, since: Date.now() };
  #counters: Record<string, Counter> = {};
  #histograms: Record<string, Histogram> = {};
  #engineMetricNames: string[] = [];
  readonly #httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'Total number of requests by method, status and handler.',
    labelNames: ['method', 'status', 'handler'],
    registers: [this.registry],
  });
  readonly #httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Latency with only few buckets by handler.',
    labelNames: ['method', 'handler'],
    buckets: [0.1, 0.5, 1],
    registers: [this.registry],
  });

  /**
   * Counts one HTTP response (prometheus-fastapi-instrumentator's names, status grouped as `2xx`).
   * @param method the HTTP method
   * @param handler the route pattern, or `none` when no route matched
   * @param status the response status
   * @param seconds time from the request to the end of the response
   */
  observeHttp(method: string, handler: string, status: number, seconds: number): void {
    this.#httpRequests.inc({ method, status: `${Math.floor(status / 100)}xx`, handler });
    this.#httpDuration.observe({ method, handler }, seconds);
  }

  /** Stops listening to the engine. */
  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /**
   * Registers every metric for `engine` and subscribes to its stats.
   * @param engine the served engine
   * @param modelName the `model_name` label (the first served model name)
   */
  attach(engine: ServerEngine, modelName: string): void {
    this.detach();
    for (const name of this.#engineMetricNames) this.registry.removeSingleMetric(name);
    this.#engine = engine;
    this.#labels = { model_name: modelName, engine: '0' };
    const labelNames = ['model_name', 'engine'] as const;
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: (s: SchedulerStats) => number) => {
      const labels = this.#labels;
      return new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.set(labels, read(currentStats(engine)));
        },
      });
    };
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', (s) => s.numRunningReqs);
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', (s) => s.numWaitingReqs);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', (s) => s.kvCacheUsage);
    const cfg = engine.config;
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the KV-cache configuration.',
      labelNames: ['block_size', 'num_gpu_blocks', 'engine'],
      registers,
    }).set({ block_size: String(cfg.blockSize), num_gpu_blocks: String(cfg.numGpuBlocks), engine: '0' }, 1);

    const counter = (key: string, name: string, help: string, extra: string[] = []) => {
      const c = new Counter({ name, help, labelNames: [...labelNames, ...extra], registers });
      if (extra.length === 0) c.inc(this.#labels, 0);
      this.#counters[key] = c;
    };
    counter('queries', 'vllm:prefix_cache_queries_total', 'Prefix-cache queries, in terms of number of queried tokens.');
    counter('hits', 'vllm:prefix_cache_hits_total', 'Prefix-cache hits, in terms of number of cached tokens.');
    counter('preemptions', 'vllm:num_preemptions_total', 'Cumulative number of preemptions from the engine.');
    counter('prompt', 'vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    counter('generation', 'vllm:generation_tokens_total', 'Number of generation tokens processed.');
    counter('success', 'vllm:request_success_total', 'Count of successfully processed requests.', ['finished_reason']);
    for (const r of FINISH_REASONS) this.#counters.success!.inc({ ...this.#labels, finished_reason: r }, 0);

    const histogram = (key: string, name: string, help: string, buckets: number[]) => {
      this.#histograms[key] = new Histogram({ name, help, labelNames, buckets, registers });
    };
    const tokens = build125Buckets(cfg.maxModelLen);
    histogram('ttft', 'vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
    histogram('itl', 'vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
    histogram('tpot', 'vllm:request_time_per_output_token_seconds', 'Histogram of time per output token in seconds.', ITL_BUCKETS);
    histogram('e2e', 'vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY_BUCKETS);
    histogram('queue', 'vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY_BUCKETS);
    histogram('inference', 'vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.', REQUEST_LATENCY_BUCKETS);
    histogram('prefill', 'vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_LATENCY_BUCKETS);
    histogram('decode', 'vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_LATENCY_BUCKETS);
    histogram('promptTokens', 'vllm:request_prompt_tokens', 'Number of prefill tokens processed.', tokens);
    histogram('generationTokens', 'vllm:request_generation_tokens', 'Number of generation tokens processed.', tokens);
    histogram('maxTokens', 'vllm:request_params_max_tokens', 'Histogram of the max_tokens request parameter.', tokens);
    histogram('n', 'vllm:request_params_n', 'Histogram of the n request parameter.', N_BUCKETS);
    histogram('iteration', 'vllm:iteration_tokens_total', 'Histogram of number of tokens per engine_step.', ITERATION_TOKEN_BUCKETS);

    // vLLM registers the spec-decode counters only when speculation is configured (Python appends `_total`; prom-client does not).
    const spec = speculativeTokens(cfg);
    if (spec > 0) {
      counter('drafts', 'vllm:spec_decode_num_drafts_total', 'Number of spec decoding drafts.');
      counter('draftTokens', 'vllm:spec_decode_num_draft_tokens_total', 'Number of draft tokens.');
      counter('acceptedTokens', 'vllm:spec_decode_num_accepted_tokens_total', 'Number of accepted tokens.');
      counter('acceptedPerPos', 'vllm:spec_decode_num_accepted_tokens_per_pos_total', 'Accepted tokens per draft position.', ['position']);
      for (let i = 0; i < spec; i++) this.#counters.acceptedPerPos!.inc({ ...this.#labels, position: String(i) }, 0);
    }

    this.#engineMetricNames = this.registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => n.startsWith('vllm:'));
    const s = currentStats(engine);
    const sd = s.specDecoding;
    this.#last = {
      queries: s.prefixCache.queries,
      hits: s.prefixCache.hits,
      preemptions: s.numPreemptions,
      drafts: sd.numDrafts,
      draftTokens: sd.numDraftTokens,
      acceptedTokens: sd.numAcceptedTokens,
    };
    this.#lastAcceptedPerPos = [...sd.numAcceptedTokensPerPos];
    this.#unsubscribe = engine.onStats((stats) => this.record(stats));
  }

  /**
   * Folds one engine step's stats into the counters and histograms.
   * @param stats what the engine reported after a step
   */
  record(stats: EngineIterationStats): void {
    const l = this.#labels;
    const c = this.#counters;
    const h = this.#histograms;
    const s = stats.schedulerStats;
    // Scheduler counters are cumulative; Prometheus counters take the increments.
    const inc = (key: CumulativeKey, now: number) => {
      const delta = now - this.#last[key];
      if (delta > 0) c[key]?.inc(l, delta);
      this.#last[key] = now;
    };
    inc('queries', s.prefixCache.queries);
    inc('hits', s.prefixCache.hits);
    inc('preemptions', s.numPreemptions);
    const sd = s.specDecoding;
    inc('drafts', sd.numDrafts);
    inc('draftTokens', sd.numDraftTokens);
    inc('acceptedTokens', sd.numAcceptedTokens);
    sd.numAcceptedTokensPerPos.forEach((now, i) => {
      const delta = now - (this.#lastAcceptedPerPos[i] ?? 0);
      if (delta > 0) c.acceptedPerPos?.inc({ ...l, position: String(i) }, delta);
      this.#lastAcceptedPerPos[i] = now;
    });
    if (stats.numPromptTokens > 0) c.prompt!.inc(l, stats.numPromptTokens);
    if (stats.numGenerationTokens > 0) c.generation!.inc(l, stats.numGenerationTokens);
    this.#interval.promptTokens += stats.numPromptTokens;
    this.#interval.generationTokens += stats.numGenerationTokens;
    const stepTokens = stats.numPromptTokens + stats.numGenerationTokens;
    if (stepTokens > 0) h.iteration!.observe(l, stepTokens);
    for (const t of stats.timeToFirstTokens) h.ttft!.observe(l, t);
    for (const t of stats.interTokenLatencies) h.itl!.observe(l, t);
    for (const f of stats.finishedRequests) {
      c.success!.inc({ ...l, finished_reason: f.finishReason }, 1);
      h.e2e!.observe(l, f.e2eLatency);
      h.queue!.observe(l, f.queueTime);
      h.prefill!.observe(l, f.prefillTime);
      h.decode!.observe(l, f.decodeTime);
      h.inference!.observe(l, f.inferenceTime);
      h.promptTokens!.observe(l, f.numPromptTokens);
      h.generationTokens!.observe(l, f.numGenerationTokens);
      if (f.maxTokensParam !== null) h.maxTokens!.observe(l, f.maxTokensParam);
      h.n!.observe(l, f.n);
      if (f.numGenerationTokens > 1) h.tpot!.observe(l, f.decodeTime / (f.numGenerationTokens - 1));
    }
  }

  /**
   * vLLM's periodic log line (throughput since the last call, queue sizes, KV usage, hit rate),
   * or null when nothing happened and nothing is queued.
   * @returns the line
   */
  logLine(): string | null {
    if (!this.#engine) return null;
    const now = Date.now();
    const seconds = Math.max((now - this.#interval.since) / 1000, 1e-3);
    const { promptTokens, generationTokens } = this.#interval;
    this.#interval = { promptTokens: 0, generationTokens: 0, since: now };
    const s = currentStats(this.#engine);
    if (promptTokens + generationTokens === 0 && s.numRunningReqs + s.numWaitingReqs === 0) return null;
    const hitRate = s.prefixCache.queries > 0 ? (100 * s.prefixCache.hits) / s.prefixCache.queries : 0;
    return (
      `Avg prompt throughput: ${(promptTokens / seconds).toFixed(1)} tokens/s, ` +
      `Avg generation throughput: ${(generationTokens / seconds).toFixed(1)} tokens/s, ` +
      `Running: ${s.numRunningReqs} reqs, Waiting: ${s.numWaitingReqs} reqs, ` +
      `KV cache usage: ${(100 * s.kvCacheUsage).toFixed(1)}%, Prefix cache hit rate: ${hitRate.toFixed(1)}%`
    );
  }
}
