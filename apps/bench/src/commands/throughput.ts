import { buildDataset, engineArgsOf, type DatasetFlags, type EngineFlags } from '../cli-options.js';
import { textTable, writeJson } from '../format.js';
import { runOffline, startEngine, type OfflineResult } from '../offline.js';
import { startProgress } from '../progress.js';

/** Options of {@link runThroughput}: engine and dataset flags, plus where to write JSON. */
export type ThroughputOptions = EngineFlags & DatasetFlags & { outputJson?: string };

/** What `throughput` reports (and writes with `--output-json`). */
export interface ThroughputReport extends OfflineResult {
  readonly benchmark: 'throughput';
  readonly engine: { readonly engineVersion: string; readonly enablePrefixCaching: boolean; readonly enableChunkedPrefill: boolean; readonly model: string };
  readonly dataset: string;
}

/**
 * Offline throughput: the whole dataset submitted at once to an in-process engine.
 * @param o flags
 * @param log where the table goes. Default stdout
 * @returns the report
 * @example
 * ```ts
 * const r = await runThroughput({ datasetName: 'random', numPrompts: 64, inputLen: 128, outputLen: 32, rangeRatio: 0, prefixLen: 0, suffixLen: 0, numPrefixes: 1, seed: 0 });
 * console.log(r.outputThroughput);
 * ```
 */
export async function runThroughput(o: ThroughputOptions, log: (s: string) => void = console.log): Promise<ThroughputReport> {
  const engine = await startEngine(engineArgsOf(o));
  try {
    const requests = buildDataset(o, { vocabSize: engine.config.vocabSize, encode: (t) => engine.tokenizer.encode(t) });
    const bar = startProgress('throughput', requests.length);
    const r = await runOffline(engine, requests, (d) => bar.update(d));
    bar.stop();
    const c = engine.config;
    const report: ThroughputReport = {
      benchmark: 'throughput',
      engine: { engineVersion: c.engineVersion, enablePrefixCaching: c.enablePrefixCaching, enableChunkedPrefill: c.enableChunkedPrefill, model: c.model },
      dataset: o.datasetName,
      ...r,
    };
    log(
      textTable(
        ['requests', 'elapsed s', 'req/s', 'input tok/s', 'output tok/s', 'total tok/s', 'cached tok', 'preemptions', 'draft acceptance'],
        [[r.numRequests, r.elapsedS, r.requestThroughput, r.inputThroughput, r.outputThroughput, r.totalTokenThroughput, r.numCachedTokens, r.numPreemptions, r.specDecoding.acceptanceRate]],
      ),
    );
    if (o.outputJson !== undefined) writeJson(o.outputJson, report);
    return report;
  } finally {
    await engine.close();
  }
}
