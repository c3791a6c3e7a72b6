import { engineArgsOf, type EngineFlags } from '../cli-options.js';
import { randomDataset } from '../datasets.js';
import { textTable, writeJson } from '../format.js';
import { runOffline, startEngine } from '../offline.js';
import { startProgress } from '../progress.js';
import { summarize, type DistributionSummary } from '../stats.js';

/** Options of {@link runLatency}. */
export type LatencyOptions = EngineFlags & {
  batchSize: number;
  inputLen: number;
  outputLen: number;
  numItersWarmup: number;
  numIters: number;
  outputJson?: string;
};

/** What `latency` reports: seconds per batch. */
export interface LatencyReport {
  readonly benchmark: 'latency';
  readonly batchSize: number;
  readonly inputLen: number;
  readonly outputLen: number;
  readonly engineVersion: string;
  /** Seconds per iteration, in run order. */
  readonly latencies: readonly number[];
  readonly latencyS: DistributionSummary;
  /** Submission to the batch's last first token, per iteration (ms): the prefill's share. */
  readonly ttftMs: DistributionSummary;
  /** Per iteration, (latency - ttft) / (outputLen - 1): one decode step's time (ms; null when outputLen is 1). */
  readonly tpotMs: DistributionSummary | null;
}

/**
 * Latency of one batch end to end (vLLM's `benchmark_latency`): warm-up iterations, then timed
 * ones. Each iteration draws fresh random prompts, so the prefix cache never serves a prompt.
 * @param o flags
 * @param log where the table goes
 * @returns the report
 */
export async function runLatency(o: LatencyOptions, log: (s: string) => void = console.log): Promise<LatencyReport> {
  const engine = await startEngine(engineArgsOf(o));
  try {
    const batch = (i: number) => randomDataset({ numPrompts: o.batchSize, inputLen: o.inputLen, outputLen: o.outputLen, vocabSize: engine.config.vocabSize, seed: o.seed * 1000 + i });
    const bar = startProgress('latency', o.numItersWarmup + o.numIters);
    const latencies: number[] = [];
    const ttfts: number[] = [];
    const tpots: number[] = [];
    for (let i = 0; i < o.numItersWarmup + o.numIters; i++) {
      const r = await runOffline(engine, batch(i));
      if (i >= o.numItersWarmup) {
        latencies.push(r.elapsedS);
        ttfts.push(r.ttftMs.max);
        if (o.outputLen > 1) tpots.push((r.elapsedS * 1000 - r.ttftMs.max) / (o.outputLen - 1));
      }
      bar.update(i + 1);
    }
    bar.stop();
    const s = summarize(latencies, [10, 25, 50, 75, 90, 99]);
    const tpotMs = tpots.length > 0 ? summarize(tpots) : null;
    const report: LatencyReport = {
      benchmark: 'latency', batchSize: o.batchSize, inputLen: o.inputLen, outputLen: o.outputLen, engineVersion: engine.config.engineVersion,
      latencies, latencyS: s, ttftMs: summarize(ttfts), tpotMs,
    };
    log(
      textTable(
        ['iters', 'mean s', 'p50 s', 'p90 s', 'p99 s', 'ttft p50 ms', 'tpot p50 ms'],
        [[latencies.length, s.mean, s.median, s.percentiles.p90!, s.percentiles.p99!, report.ttftMs.median, tpotMs?.median ?? '-']],
      ),
    );
    if (o.outputJson !== undefined) writeJson(o.outputJson, report);
    return report;
  } finally {
    await engine.close();
  }
}
