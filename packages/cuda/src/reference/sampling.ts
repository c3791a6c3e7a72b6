// CPU references for argmax, penalties and the sampling filter chain, in float64.

/**
 * Reference argmax per row (first index on ties, NaN skipped, 0 for an all-NaN row).
 * @param logits [rows, vocab]
 * @param vocab row width
 * @returns [rows]
 */
export function argmaxReference(logits: Float32Array, vocab: number): Int32Array {
  const rows = logits.length / vocab;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = -Infinity;
    let idx = -1;
    for (let i = 0; i < vocab; i++) {
      const v = logits[r * vocab + i]!;
      if (v > best || (idx < 0 && v === best)) {
        best = v;
        idx = i;
      }
    }
    out[r] = Math.max(idx, 0);
  }
  return out;
}

/** One row's sampling parameters. */
export interface RowSamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
}

/**
 * The distribution the sampler draws from for one row: probabilities over the surviving tokens
 * (temperature, then min-p, top-k with ties kept, top-p over the renormalized survivors), zero elsewhere.
 * @param row logits of one row
 * @param p sampling parameters (temperature > 0)
 * @returns normalized probabilities, one per token
 */
export function samplingDistributionReference(row: Float32Array, p: RowSamplingParams): Float64Array {
  const n = row.length;
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const alive = new Uint8Array(n);
  for (let i = 0; i < n; i++) alive[i] = Number.isNaN(row[i]!) ? 0 : 1;
  if (p.minP > 0) {
    const cut = max + p.temperature * Math.log(Math.min(p.minP, 1));
    for (let i = 0; i < n; i++) if (row[i]! < cut) alive[i] = 0;
  }
  if (p.topK > 0 && p.topK < n) {
    const sorted = [...row].filter((_, i) => alive[i]).sort((a, b) => b - a);
    if (sorted.length > p.topK) {
      const kth = sorted[p.topK - 1]!;
      for (let i = 0; i < n; i++) if (row[i]! < kth) alive[i] = 0;
    }
  }
  const weight = (i: number) => (alive[i] ? Math.exp((row[i]! - max) / p.temperature) : 0);
  if (p.topP < 1) {
    let total = 0;
    for (let i = 0; i < n; i++) total += weight(i);
    const order = [...Array(n).keys()].filter((i) => alive[i]).sort((a, b) => row[b]! - row[a]!);
    let cum = 0;
    let cutValue = -Infinity;
    for (const i of order) {
      cum += weight(i);
      if (cum >= p.topP * total) {
        cutValue = row[i]!;
        break;
      }
    }
    for (let i = 0; i < n; i++) if (row[i]! < cutValue) alive[i] = 0;
  }
  const probs = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += probs[i] = weight(i);
  for (let i = 0; i < n; i++) probs[i]! /= total;
  return probs;
}

/** Inputs of {@link applyPenaltiesReference} for one row. */
export interface RowPenalties {
  promptTokens: readonly number[];
  outputTokens: readonly number[];
  repetition: number;
  frequency: number;
  presence: number;
}

/**
 * Reference penalties for one row, in place (vLLM semantics).
 * @param row logits of one row (modified)
 * @param p token history and penalties
 */
export function applyPenaltiesReference(row: Float32Array, p: RowPenalties): void {
  const counts = new Map<number, number>();
  for (const t of p.outputTokens) if (t >= 0) counts.set(t, (counts.get(t) ?? 0) + 1);
  const seen = new Set<number>([...p.promptTokens.filter((t) => t >= 0), ...counts.keys()]);
  for (const t of seen) {
    let l = row[t]!;
    if (p.repetition !== 1) l = l > 0 ? l / p.repetition : l * p.repetition;
    const c = counts.get(t) ?? 0;
    l -= p.frequency * c;
    if (c > 0) l -= p.presence;
    row[t] = l;
  }
}
