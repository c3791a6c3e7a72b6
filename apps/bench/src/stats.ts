/** Mean, median, standard deviation and chosen percentiles of one metric, in the metric's unit. */
export interface DistributionSummary {
  readonly count: number;
  readonly mean: number;
  readonly median: number;
  /** Population standard deviation (numpy's default, as vLLM reports it). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Keyed `p50`, `p90`, `p99`, ... */
  readonly percentiles: Readonly<Record<string, number>>;
}

/**
 * Percentile with linear interpolation between closest ranks (numpy's default method), so figures
 * match vLLM's benchmark scripts.
 * @param sorted values in ascending order, at least one
 * @param p percentile in [0, 100]
 * @returns the interpolated value
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/**
 * Summarizes a sample. An empty sample gives zeros (vLLM reports 0 for metrics with no data).
 * @param values the sample
 * @param percentiles which percentiles to report, e.g. `[50, 90, 99]`
 * @returns the summary
 */
export function summarize(values: readonly number[], percentiles: readonly number[] = [50, 90, 99]): DistributionSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? 0 : sorted.reduce((s, v) => s + v, 0) / n;
  const variance = n === 0 ? 0 : sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  const ps: Record<string, number> = {};
  for (const p of percentiles) ps[`p${p}`] = percentile(sorted, p);
  return {
    count: n,
    mean,
    median: percentile(sorted, 50),
    std: Math.sqrt(variance),
    min: n === 0 ? 0 : sorted[0]!,
    max: n === 0 ? 0 : sorted[n - 1]!,
    percentiles: ps,
  };
}

/**
 * Scales every figure of a summary (seconds to milliseconds, say).
 * @param s the summary
 * @param factor multiplier
 * @returns a new summary
 */
export function scaleSummary(s: DistributionSummary, factor: number): DistributionSummary {
  const ps: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.percentiles)) ps[k] = v * factor;
  return { count: s.count, mean: s.mean * factor, median: s.median * factor, std: s.std * factor, min: s.min * factor, max: s.max * factor, percentiles: ps };
}
