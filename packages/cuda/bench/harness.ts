// Event-timed, warmed-up, repeated measurements; medians only.
import { CudaEvent, CudaGraph, CudaStream } from '../src/index.js';

export interface Timing {
  /** Median milliseconds per call. */
  ms: number;
  /** Spread (max - min) over the repetitions, ms per call. */
  spreadMs: number;
}

/** Times `fn` (which enqueues on `stream`): warmup, then `reps` groups of `iters` calls; the median group. */
export function timeOnStream(stream: CudaStream, fn: () => void, options: { warmup?: number; iters?: number; reps?: number } = {}): Timing {
  const { warmup = 3, iters = 10, reps = 7 } = options;
  for (let i = 0; i < warmup; i++) fn();
  stream.synchronize();
  const start = CudaEvent.create({ timing: true });
  const end = CudaEvent.create({ timing: true });
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    start.record(stream);
    for (let i = 0; i < iters; i++) fn();
    end.record(stream);
    end.synchronize();
    samples.push(end.elapsedMs(start) / iters);
  }
  start.destroy();
  end.destroy();
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, spreadMs: samples.at(-1)! - samples[0]! };
}

/**
 * Times `fn` as the GPU runs it without host launch gaps: `iters` calls captured into one CUDA graph,
 * the graph replayed (warmup, then `reps` replays; the median replay over `iters`). For kernels of a few microseconds, whose
 * eager timing measures the host's launch rate instead. `fn` runs once eagerly first (plans, attributes).
 */
export function timeGraph(stream: CudaStream, fn: () => void, options: { iters?: number; reps?: number } = {}): Timing {
  const { iters = 20, reps = 7 } = options;
  fn();
  stream.synchronize();
  const graph = CudaGraph.capture(stream, () => {
    for (let i = 0; i < iters; i++) fn();
  });
  try {
    const t = timeOnStream(stream, () => graph.replay(stream), { warmup: 2, iters: 1, reps });
    return { ms: t.ms / iters, spreadMs: t.spreadMs / iters };
  } finally {
    graph.destroy();
  }
}

/** Formats rows as an aligned plain-text table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
