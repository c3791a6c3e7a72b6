import { InvalidArgumentError } from '@vllm-ts/core';
import type { RequestMeasurement } from './serve-client.js';
import { scaleSummary, summarize, type DistributionSummary } from './stats.js';

/** Service-level objectives in milliseconds; a request is "good" when it meets all that are set. */
export interface GoodputSlos {
  readonly ttft?: number;
  readonly tpot?: number;
  readonly e2el?: number;
}

/** Serving metrics with vLLM `benchmark_serving`'s definitions (latencies in ms). */
export interface ServeMetrics {
  readonly completed: number;
  readonly failed: number;
  readonly durationS: number;
  readonly totalInputTokens: number;
  readonly totalOutputTokens: number;
  readonly requestThroughput: number;
  /** Good requests per second; null without SLOs. */
  readonly requestGoodput: number | null;
  readonly outputThroughput: number;
  readonly totalTokenThroughput: number;
  /** Largest number of requests in flight at once. */
  readonly maxConcurrentRequests: number;
  readonly ttftMs: DistributionSummary;
  /** Per request: (latency - TTFT) / (output tokens - 1), requests with more than one output token. */
  readonly tpotMs: DistributionSummary;
  /** Every gap between successive chunks of every request. */
  readonly itlMs: DistributionSummary;
  readonly e2elMs: DistributionSummary;
}

/**
 * Parses `--goodput ttft:500 tpot:50 e2el:3000`.
 * @param parts the `name:ms` pairs
 * @returns the SLOs
 * @throws InvalidArgumentError `invalid_option` for an unknown metric or a negative bound
 */
export function parseGoodput(parts: readonly string[]): GoodputSlos {
  const out: Record<string, number> = {};
  for (const p of parts) {
    const [name, raw] = p.split(':', 2) as [string, string | undefined];
    const v = Number(raw);
    if (!['ttft', 'tpot', 'e2el'].includes(name)) throw new InvalidArgumentError('invalid_option', 'cli', '--goodput', 'ttft:MS, tpot:MS or e2el:MS', p);
    if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError('invalid_option', 'cli', '--goodput', `a number of ms >= 0 after "${name}:"`, p);
    out[name] = v;
  }
  return out;
}

/**
 * Turns per-request measurements into the serving metrics.
 * @param ms the measurements (failures included; they count only as failed)
 * @param durationS benchmark wall time
 * @param percentiles which percentiles to report
 * @param slos goodput objectives; absent: no goodput
 * @param maxConcurrentRequests peak in-flight requests observed
 * @returns the metrics
 */
export function computeServeMetrics(ms: readonly RequestMeasurement[], durationS: number, percentiles: readonly number[], slos: GoodputSlos | undefined, maxConcurrentRequests: number): ServeMetrics {
  const ok = ms.filter((m) => m.success);
  const ttft = ok.map((m) => m.ttft);
  const e2el = ok.map((m) => m.latency);
  const itl = ok.flatMap((m) => m.itl);
  const tpotOf = (m: RequestMeasurement): number => (m.outputLen > 1 ? (m.latency - m.ttft) / (m.outputLen - 1) : 0);
  const tpot = ok.filter((m) => m.outputLen > 1).map(tpotOf);
  let good = 0;
  if (slos !== undefined) {
    for (const m of ok) {
      if ((slos.ttft === undefined || m.ttft * 1000 <= slos.ttft) && (slos.tpot === undefined || tpotOf(m) * 1000 <= slos.tpot) && (slos.e2el === undefined || m.latency * 1000 <= slos.e2el)) good++;
    }
  }
  const inTok = ok.reduce((s, m) => s + m.promptLen, 0);
  const outTok = ok.reduce((s, m) => s + m.outputLen, 0);
  const ms1000 = (v: number[]): DistributionSummary => scaleSummary(summarize(v, percentiles), 1000);
  return {
    completed: ok.length,
    failed: ms.length - ok.length,
    durationS,
    totalInputTokens: inTok,
    totalOutputTokens: outTok,
    requestThroughput: ok.length / durationS,
    requestGoodput: slos === undefined ? null : good / durationS,
    outputThroughput: outTok / durationS,
    totalTokenThroughput: (inTok + outTok) / durationS,
    maxConcurrentRequests,
    ttftMs: ms1000(ttft),
    tpotMs: ms1000(tpot),
    itlMs: ms1000(itl),
    e2elMs: ms1000(e2el),
  };
}
