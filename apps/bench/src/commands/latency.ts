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
    for (let i = 0; i < o.numItersWarmup + o.numIters; i++) {
      const r = await runOffline(engine, batch(i));
      if (i >= o.numItersWarmup) latencies.push(r.elapsedS);
      bar.update(i + 1);
    }
    bar.stop();
    const s = summarize(latencies, [10, 25, 50, 75, 90, 99]);
    const report: LatencyReport = { benchmark: 'latency', batchSize: o.batchSize, inputLen: o.inputLen, outputLen: o.outputLen, engineVersion: engine.config.engineVersion, latencies, latencyS: s };
    log(textTable(['iters', 'mean s', 'p50 s', 'p90 s', 'p99 s'], [[latencies.length, s.mean, s.median, s.percentiles.p90!, s.percentiles.p99!]]));
    if (o.outputJson !== undefined) writeJson(o.outputJson, report);
    return report;
  } finally {
    await engine.close();
  }
}
