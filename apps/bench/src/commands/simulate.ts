import { join } from 'node:path';
import { arrivalTimes } from '../arrivals.js';
import { barChart, type ChartFiles } from '../charts.js';
import { LLAMA31_8B_H200, parseCostModel, type CostModel } from '../cost-model.js';
import { buildDataset, type DatasetFlags } from '../cli-options.js';
import { parseEngineConfigs } from '../engine-configs.js';
import { textTable, writeJson } from '../format.js';
import { startProgress } from '../progress.js';
import { simulate, type SimulationResult } from '../simulate.js';
import { readTrace } from '../trace.js';

/** Options of {@link runSimulate}. */
export type SimulateOptions = DatasetFlags & {
  /** JSONL trace; replaces the dataset flags and arrivals. */
  trace?: string;
  configs: string;
  requestRate: number;
  burstiness: number;
  /** `key=value,...` overrides of the cost model. */
  costModel: string;
  maxNumSeqs: number;
  maxModelLen: number;
  blockSize: number;
  maxNumBatchedTokens?: number;
  numGpuBlocks?: number;
  vocabSize: number;
  outputJson?: string;
  outputDir?: string;
};

/** What `simulate` reports. */
export interface SimulateReport {
  readonly benchmark: 'simulate';
  readonly costModel: CostModel;
  readonly numRequests: number;
  readonly results: readonly SimulationResult[];
  readonly chart: ChartFiles | null;
}

/**
 * Predicts each configuration's behaviour on a GPU by replaying the workload through the real
 * schedulers with a step cost model (see {@link simulate}).
 * @param o flags
 * @param log where the table goes
 * @returns the report
 */
export async function runSimulate(o: SimulateOptions, log: (s: string) => void = console.log): Promise<SimulateReport> {
  const model = parseCostModel(LLAMA31_8B_H200, o.costModel);
  const { requests, arrivals } =
    o.trace !== undefined
      ? readTrace(o.trace, o.vocabSize)
      : (() => {
          const reqs = buildDataset(o, { vocabSize: o.vocabSize, encode: (t) => Array.from(t, (ch) => ch.charCodeAt(0) % o.vocabSize) });
          return { requests: reqs, arrivals: arrivalTimes(reqs.length, o.requestRate, o.burstiness, o.seed) };
        })();
  const choices = parseEngineConfigs(o.configs);
  const bar = startProgress('simulate', choices.length * requests.length);
  const results = choices.map((c, i) =>
    simulate(
      requests,
      arrivals,
      {
        ...c,
        maxNumSeqs: o.maxNumSeqs,
        maxModelLen: o.maxModelLen,
        blockSize: o.blockSize,
        ...(o.maxNumBatchedTokens === undefined ? {} : { maxNumBatchedTokens: o.maxNumBatchedTokens }),
        ...(o.numGpuBlocks === undefined ? {} : { numGpuBlocks: o.numGpuBlocks }),
      },
      model,
      (done) => bar.update(i * requests.length + done),
    ),
  );
  bar.stop();
  log(
    textTable(
      ['config', 'req/s', 'output tok/s', 'TTFT p50 ms', 'TTFT p99 ms', 'TPOT p50 ms', 'TPOT p99 ms', 'preempt', 'hit rate', 'steps', 'sched us/step', 'cpu s'],
      results.map((r) => [r.engine, r.requestThroughput, r.outputThroughput, r.ttftMs.median, r.ttftMs.percentiles.p99!, r.tpotMs.median, r.tpotMs.percentiles.p99!, r.numPreemptions, r.prefixCacheHitRate, r.numSteps, r.schedulerUsPerStep, r.cpuSeconds]),
    ),
  );
  const chart =
    o.outputDir === undefined
      ? null
      : await barChart(
          results.flatMap((r) => [
            { group: r.engine, series: 'TTFT p50', value: r.ttftMs.median },
            { group: r.engine, series: 'TTFT p99', value: r.ttftMs.percentiles.p99 ?? 0 },
            { group: r.engine, series: 'TPOT p50', value: r.tpotMs.median },
            { group: r.engine, series: 'TPOT p99', value: r.tpotMs.percentiles.p99 ?? 0 },
          ]),
          { title: 'Simulated TTFT and TPOT per configuration', yTitle: 'milliseconds', basePath: join(o.outputDir, 'simulate') },
        );
  const report: SimulateReport = { benchmark: 'simulate', costModel: model, numRequests: requests.length, results, chart };
  if (o.outputJson !== undefined) writeJson(o.outputJson, report);
  return report;
}
