import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import type { LLMEngine } from '@vllm-ts/engine';
import { buildDataset, engineArgsOf, type DatasetFlags, type EngineFlags } from '../cli-options.js';
import { barChart, type ChartFiles } from '../charts.js';
import { parseEngineConfigs, type EngineConfigChoice } from '../engine-configs.js';
import { markdownTable, textTable, writeJson } from '../format.js';
import { runOffline, startEngine, type OfflineResult } from '../offline.js';
import { startProgress } from '../progress.js';
import { summarize } from '../stats.js';

/** Options of {@link runCompare}. */
export type CompareOptions = EngineFlags &
  DatasetFlags & {
    /** Configuration labels, comma-separated, or `all`. */
    configs: string;
    numReps: number;
    /** Folder for report.md, the chart and compare.json. */
    outputDir?: string;
    outputJson?: string;
  };

/** One configuration's figures over the repetitions. */
export interface CompareRow {
  readonly config: string;
  /** Output tokens/s of each repetition. */
  readonly outputThroughputs: readonly number[];
  readonly medianOutputThroughput: number;
  readonly medianTotalThroughput: number;
  readonly medianElapsedS: number;
  readonly medianTtftMs: number;
  readonly cachedTokenFraction: number;
  readonly preemptions: number;
  /** Median output throughput over that of the baseline (the first V0 configuration, else the first). */
  readonly speedup: number;
}

/** What `compare` reports. */
export interface CompareReport {
  readonly benchmark: 'compare';
  readonly baseline: string;
  readonly rows: readonly CompareRow[];
  /** Best V1 over best V0 median output throughput; null unless both ran. */
  readonly v1OverV0: number | null;
  /** Per repetition, the best V1 configuration's output throughput over the best V0 one's (empty unless both ran). */
  readonly pairedRatios: readonly number[];
  /** The closing sentence: whether V1 beat V0 here, by how much, and how consistently. */
  readonly verdict: string;
  readonly markdown: string;
  readonly chart: ChartFiles | null;
}

/**
 * V0 vs V1 (each with prefix caching and chunked prefill on/off) on the same workload in one run:
 * one engine per configuration, a warm-up each, then `numReps` repetitions whose configuration
 * order rotates from repetition to repetition; repetition `r` uses the same requests for every
 * configuration (and new ones each repetition, so caches from earlier repetitions do not help).
 * @param o flags
 * @param log where the table goes
 * @returns the report (markdown included)
 */
export async function runCompare(o: CompareOptions, log: (s: string) => void = console.log): Promise<CompareReport> {
  const choices = parseEngineConfigs(o.configs);
  const args = engineArgsOf(o);
  const engines: LLMEngine[] = [];
  try {
    for (const c of choices) engines.push(await startEngine({ ...args, engineVersion: c.engineVersion, enablePrefixCaching: c.enablePrefixCaching, enableChunkedPrefill: c.enableChunkedPrefill }));
    const first = engines[0]!;
    const dataset = (seed: number) => buildDataset({ ...o, seed }, { vocabSize: first.config.vocabSize, encode: (t) => first.tokenizer.encode(t) });
    const warm = dataset(o.seed + 10_000).slice(0, 2);
    for (const e of engines) await runOffline(e, warm);
    const results: OfflineResult[][] = choices.map(() => []);
    const bar = startProgress('compare', o.numReps * choices.length);
    for (let r = 0; r < o.numReps; r++) {
      const work = dataset(o.seed + r);
      for (let k = 0; k < choices.length; k++) {
        const i = (k + r) % choices.length;
        results[i]!.push(await runOffline(engines[i]!, work));
        bar.update(r * choices.length + k + 1);
      }
    }
    bar.stop();
    const baseIndex = Math.max(0, choices.findIndex((c) => c.engineVersion === 'v0'));
    const rows = choices.map((c, i) => row(c, results[i]!));
    const baseTput = rows[baseIndex]!.medianOutputThroughput;
    const withSpeedup = rows.map((r) => ({ ...r, speedup: r.medianOutputThroughput / baseTput }));
    const bestOf = (v: 'v0' | 'v1'): number =>
      withSpeedup.reduce((b, r, i) => (choices[i]!.engineVersion === v && (b < 0 || r.medianOutputThroughput > withSpeedup[b]!.medianOutputThroughput) ? i : b), -1);
    const [b1, b0] = [bestOf('v1'), bestOf('v0')];
    const both = b1 >= 0 && b0 >= 0;
    const v1OverV0 = both ? withSpeedup[b1]!.medianOutputThroughput / withSpeedup[b0]!.medianOutputThroughput : null;
    // Same requests within a repetition, so per-repetition ratios pair away the machine's drift.
    const pairedRatios = both ? results[b1]!.map((r, k) => r.outputThroughput / results[b0]![k]!.outputThroughput) : [];
    const header = ['config', 'output tok/s (median)', 'total tok/s', 'elapsed s', 'TTFT p50 ms', 'cached %', 'preemptions', `vs ${choices[baseIndex]!.label}`];
    const cells = withSpeedup.map((r) => [r.config, r.medianOutputThroughput, r.medianTotalThroughput, r.medianElapsedS, r.medianTtftMs, r.cachedTokenFraction * 100, r.preemptions, `${r.speedup.toFixed(2)}x`]);
    log(textTable(header, cells));
    const chart =
      o.outputDir === undefined
        ? null
        : await barChart(
            withSpeedup.flatMap((r) => r.outputThroughputs.map((v, k) => ({ group: r.config, series: `rep ${k + 1}`, value: v }))),
            { title: 'Output tokens/s per configuration and repetition', yTitle: 'output tokens/s', basePath: join(o.outputDir, 'compare') },
          );
    const verdict = both ? verdictOf(choices[b1]!.label, choices[b0]!.label, v1OverV0!, pairedRatios) : 'Only one engine version ran, so there is no V1-vs-V0 verdict.';
    const markdown = renderMarkdown(o, first, withSpeedup, header, cells, choices[baseIndex]!.label, verdict, chart);
    const report: CompareReport = { benchmark: 'compare', baseline: choices[baseIndex]!.label, rows: withSpeedup, v1OverV0, pairedRatios, verdict, markdown, chart };
    if (o.outputDir !== undefined) {
      writeFileSync(join(o.outputDir, 'compare.md'), markdown);
      writeJson(join(o.outputDir, 'compare.json'), report);
    }
    if (o.outputJson !== undefined) writeJson(o.outputJson, report);
    return report;
  } finally {
    await Promise.all(engines.map((e) => e.close()));
  }
}

function row(c: EngineConfigChoice, rs: readonly OfflineResult[]): CompareRow {
  const med = (f: (r: OfflineResult) => number): number => summarize(rs.map(f)).median;
  const input = rs.reduce((s, r) => s + r.inputTokens, 0);
  return {
    config: c.label,
    outputThroughputs: rs.map((r) => r.outputThroughput),
    medianOutputThroughput: med((r) => r.outputThroughput),
    medianTotalThroughput: med((r) => r.totalTokenThroughput),
    medianElapsedS: med((r) => r.elapsedS),
    medianTtftMs: med((r) => r.ttftMs.median),
    cachedTokenFraction: input > 0 ? rs.reduce((s, r) => s + r.numCachedTokens, 0) / input : 0,
    preemptions: rs.reduce((s, r) => s + r.numPreemptions, 0),
    speedup: 1,
  };
}

function verdictOf(v1: string, v0: string, ratio: number, paired: readonly number[]): string {
  const wins = paired.filter((x) => x > 1).length;
  const pct = (Math.abs(ratio - 1) * 100).toFixed(1);
  const head = ratio >= 1 ? `V1 beat V0 here by ${pct}%` : `V1 was ${pct}% slower than V0 here`;
  const pairs = paired.map((x) => `${x.toFixed(2)}x`).join(', ');
  const lo = Math.min(...paired);
  const hi = Math.max(...paired);
  const consistent = lo > 1 || hi < 1 ? 'every repetition agrees' : 'the repetitions disagree, so the difference is within this machine\'s noise';
  return `Best V1 (\`${v1}\`) vs best V0 (\`${v0}\`), median output tokens/s: **${ratio.toFixed(2)}x** — ${head}. Paired per repetition: ${pairs}; ${consistent} (V1 faster in ${wins} of ${paired.length}).`;
}

function renderMarkdown(
  o: CompareOptions,
  engine: LLMEngine,
  rows: readonly CompareRow[],
  header: readonly string[],
  cells: readonly (readonly (string | number)[])[],
  baseline: string,
  verdict: string,
  chart: ChartFiles | null,
): string {
  const c = engine.config;
  const spread = rows.map((r) => `${r.config}: ${r.outputThroughputs.map((v) => v.toFixed(1)).join(', ')}`).join('; ');
  return [
    '# V0 vs V1 comparison',
    '',
    `Model \`${relative(process.cwd(), c.model) || c.model}\` (${c.architecture}, ${c.dtype}) on the ${c.device} backend; block size ${c.blockSize}, ${c.numGpuBlocks} KV blocks, max ${c.maxNumSeqs} sequences.`,
    `Machine: ${cpus().length} CPU cores, load average ${loadavg().map((v) => v.toFixed(1)).join(' / ')} (1/5/15 min) when the report was written; on a shared machine the repetitions drift, which is why the order rotates and medians are reported.`,
    `Workload: ${o.datasetName}, ${o.numPrompts} prompts, input ${o.inputLen}${o.prefixLen > 0 ? ` (+${o.prefixLen} shared prefix)` : ''}, output ${o.outputLen} tokens (greedy, EOS ignored).`,
    `${o.numReps} repetitions after one warm-up per engine; the configuration order rotates each repetition; figures are medians. Baseline: \`${baseline}\`.`,
    '',
    markdownTable(header, cells),
    '',
    chart === null ? '' : `![output tokens/s per configuration](./compare.png)\n`,
    `Per-repetition output tokens/s — ${spread}.`,
    '',
    verdict,
    '',
  ].join('\n');
}
