import { join } from 'node:path';
import type { LLMEngine } from '@vllm-ts/engine';
import { engineArgsOf, type EngineFlags } from '../cli-options.js';
import { barChart, type ChartFiles } from '../charts.js';
import { randomDataset } from '../datasets.js';
import { textTable, writeJson } from '../format.js';
import { runOffline, startEngine, type OfflineResult } from '../offline.js';
import { startProgress } from '../progress.js';

/** Options of {@link runPrefixCaching}. */
export type PrefixCachingOptions = EngineFlags & {
  numPrompts: number;
  /** Total prompt tokens; `ratio` of them are a prefix shared by every prompt. */
  inputLen: number;
  outputLen: number;
  /** Shared-prefix ratios in percent. Default 0, 25, 50, 75, 90. */
  ratios: readonly number[];
  outputJson?: string;
  /** Folder for the chart (SVG and PNG); absent: no chart. */
  outputDir?: string;
};

/** One shared-prefix ratio: the same workload with caching off and on. */
export interface PrefixCachingRow {
  readonly ratioPercent: number;
  readonly off: OfflineResult;
  readonly on: OfflineResult;
  /** Elapsed time off over on (> 1: caching helped). */
  readonly speedup: number;
  /** Prompt tokens served from the cache over all prompt tokens, caching on. */
  readonly hitRate: number;
}

/** What `prefix-caching` reports. */
export interface PrefixCachingReport {
  readonly benchmark: 'prefix-caching';
  readonly engineVersion: string;
  readonly rows: readonly PrefixCachingRow[];
  readonly chart: ChartFiles | null;
}

/**
 * Prefix caching on vs off across shared-prefix ratios: two engines, the same workloads, the order
 * of the two alternating from ratio to ratio so drift on a loaded machine does not favour either.
 * @param o flags
 * @param log where the table goes
 * @returns the report
 */
export async function runPrefixCaching(o: PrefixCachingOptions, log: (s: string) => void = console.log): Promise<PrefixCachingReport> {
  const args = engineArgsOf(o);
  const engines: LLMEngine[] = [];
  try {
    engines.push(await startEngine({ ...args, enablePrefixCaching: false }), await startEngine({ ...args, enablePrefixCaching: true }));
    const [off, on] = engines as [LLMEngine, LLMEngine];
    const vocabSize = on.config.vocabSize;
    const bar = startProgress('prefix-caching', o.ratios.length * 2);
    const rows: PrefixCachingRow[] = [];
    for (const [i, ratio] of o.ratios.entries()) {
      const prefixLen = Math.round((o.inputLen * ratio) / 100);
      const work = randomDataset({ numPrompts: o.numPrompts, inputLen: Math.max(1, o.inputLen - prefixLen), prefixLen, outputLen: o.outputLen, vocabSize, seed: o.seed * 100 + i });
      const results = new Map<LLMEngine, OfflineResult>();
      for (const e of i % 2 === 0 ? [off, on] : [on, off]) {
        results.set(e, await runOffline(e, work));
        bar.update(i * 2 + results.size);
      }
      const rOff = results.get(off)!;
      const rOn = results.get(on)!;
      rows.push({ ratioPercent: ratio, off: rOff, on: rOn, speedup: rOff.elapsedS / rOn.elapsedS, hitRate: rOn.numCachedTokens / rOn.inputTokens });
    }
    bar.stop();
    log(
      textTable(
        ['shared %', 'off tok/s', 'on tok/s', 'speedup', 'hit rate'],
        rows.map((r) => [r.ratioPercent, r.off.totalTokenThroughput, r.on.totalTokenThroughput, r.speedup, r.hitRate]),
      ),
    );
    const chart =
      o.outputDir === undefined
        ? null
        : await barChart(
            rows.flatMap((r) => [
              { group: `${r.ratioPercent}%`, series: 'caching off', value: r.off.totalTokenThroughput },
              { group: `${r.ratioPercent}%`, series: 'caching on', value: r.on.totalTokenThroughput },
            ]),
            { title: 'Prefix caching: total tokens/s by shared-prefix ratio', yTitle: 'tokens/s', basePath: join(o.outputDir, 'prefix-caching') },
          );
    const report: PrefixCachingReport = { benchmark: 'prefix-caching', engineVersion: on.config.engineVersion, rows, chart };
    if (o.outputJson !== undefined) writeJson(o.outputJson, report);
    return report;
  } finally {
    await Promise.all(engines.map((e) => e.close()));
  }
}
