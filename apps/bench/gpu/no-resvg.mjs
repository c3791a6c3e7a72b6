// Stands in for @resvg/resvg-js (a native addon) in the GPU machine's bundle: the benchmarks run
// there write JSON and tables, never charts.
export class Resvg {
  constructor() {
    throw new Error('charts are not available in the GPU bundle of vllm-ts-bench (no @resvg/resvg-js there)');
  }
}
