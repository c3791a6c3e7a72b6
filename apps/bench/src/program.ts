import { Command, Option } from 'commander';
import { parseRate } from './arrivals.js';
import { addDatasetFlags, addEngineFlags, intArg, numArg } from './cli-options.js';
import { runCompare, type CompareOptions } from './commands/compare.js';
import { runLatency, type LatencyOptions } from './commands/latency.js';
import { runPrefixCaching, type PrefixCachingOptions } from './commands/prefix-caching.js';
import { runServeBenchmark, type ServeBenchOptions } from './commands/serve.js';
import { runSimulate, type SimulateOptions } from './commands/simulate.js';
import { runThroughput, type ThroughputOptions } from './commands/throughput.js';
import { parseGoodput } from './serve-metrics.js';

/**
 * The `vllm-ts-bench` command line: `throughput`, `latency`, `serve`, `prefix-caching`, `compare`, `simulate`.
 * @returns the commander program (call `parseAsync(argv)`)
 * @example
 * ```ts
 * await buildBenchProgram().parseAsync(['node', 'vllm-ts-bench', 'simulate', '--num-prompts', '200']);
 * ```
 */
export function buildBenchProgram(): Command {
  const program = new Command('vllm-ts-bench').description('Benchmarks of vllm-ts engines and servers, and a scheduling simulator.').showHelpAfterError();
  const json = (c: Command): Command => c.option('--output-json <file>', 'write the results as JSON');

  json(addDatasetFlags(addEngineFlags(program.command('throughput').description('offline throughput of an in-process engine')), { numPrompts: 32, inputLen: 128, outputLen: 32 })).action(async (o: ThroughputOptions) => {
    await runThroughput(o);
  });

  json(addEngineFlags(program.command('latency').description('end-to-end latency of one batch')))
    .option('--batch-size <n>', 'prompts per batch', intArg, 8)
    .option('--input-len <n>', 'prompt tokens', intArg, 32)
    .option('--output-len <n>', 'tokens to generate', intArg, 32)
    .option('--num-iters-warmup <n>', 'untimed iterations', intArg, 1)
    .option('--num-iters <n>', 'timed iterations', intArg, 5)
    .action(async (o: LatencyOptions) => {
      await runLatency(o);
    });

  json(addDatasetFlags(program.command('serve').description('load generator for an OpenAI-compatible server'), { numPrompts: 100, inputLen: 128, outputLen: 32 }))
    .option('--base-url <url>', 'server address', 'http://127.0.0.1:8000')
    .option('--endpoint <path>', 'completions endpoint', '/v1/completions')
    .option('--model <name>', 'model name to send (default: the first listed by /v1/models)')
    .option('--api-key <key>', 'bearer token')
    .addOption(new Option('--request-rate <r>', 'requests per second, or inf').argParser(parseRate).default(Infinity, 'inf'))
    .option('--burstiness <k>', 'gamma shape of the gaps (1 = Poisson)', numArg, 1)
    .option('--max-concurrency <n>', 'most requests in flight', intArg)
    .option('--vocab-size <n>', 'random prompts draw token ids below this', intArg, 4096)
    .option('--metric-percentiles <list>', 'comma-separated percentiles', (s: string) => s.split(',').map(numArg), [50, 90, 99])
    .option('--goodput <slo...>', 'SLOs as ttft:MS tpot:MS e2el:MS')
    .option('--seed <n>', 'seed of the workload and arrivals', intArg, 0)
    .action(async (o: Omit<ServeBenchOptions, 'goodput' | 'percentiles'> & { goodput?: string[]; metricPercentiles: number[] }) => {
      const { goodput, metricPercentiles, ...rest } = o;
      await runServeBenchmark({ ...rest, percentiles: metricPercentiles, ...(goodput === undefined ? {} : { goodput: parseGoodput(goodput) }) });
    });

  json(addEngineFlags(program.command('prefix-caching').description('prefix caching on vs off across shared-prefix ratios')))
    .option('--num-prompts <n>', 'prompts per ratio', intArg, 16)
    .option('--input-len <n>', 'prompt tokens, prefix included', intArg, 256)
    .option('--output-len <n>', 'tokens to generate', intArg, 8)
    .option('--ratios <list>', 'shared-prefix percentages', (s: string) => s.split(',').map(numArg), [0, 25, 50, 75, 90])
    .option('--output-dir <dir>', 'where the chart goes')
    .action(async (o: PrefixCachingOptions) => {
      await runPrefixCaching(o);
    });

  json(addDatasetFlags(addEngineFlags(program.command('compare').description('V0 vs V1, prefix caching and chunked prefill on/off, same workload')), { numPrompts: 16, inputLen: 128, outputLen: 32 }))
    .option('--configs <list>', 'labels among v1+pc, v1, v0, v0+pc, v0+cp, v0+pc+cp, or all', 'all')
    .option('--num-reps <n>', 'repetitions', intArg, 3)
    .option('--output-dir <dir>', 'where compare.md, compare.json and the chart go')
    .action(async (o: CompareOptions) => {
      await runCompare(o);
    });

  json(addDatasetFlags(program.command('simulate').description('predict GPU behaviour: real schedulers + a step cost model'), { numPrompts: 500, inputLen: 1024, outputLen: 128 }))
    .option('--trace <file>', 'JSONL trace (timestamp|arrival_time, input_length|prompt_token_ids, output_length, hash_ids)')
    .option('--configs <list>', 'labels among v1+pc, v1, v0, v0+pc, v0+cp, v0+pc+cp, or all', 'all')
    .addOption(new Option('--request-rate <r>', 'requests per second, or inf').argParser(parseRate).default(Infinity, 'inf'))
    .option('--burstiness <k>', 'gamma shape of the gaps', numArg, 1)
    .option('--cost-model <overrides>', 'key=value,... over the Llama-3.1-8B/H200 defaults', '')
    .option('--max-num-seqs <n>', 'most requests in a step', intArg, 256)
    .option('--max-model-len <n>', 'longest sequence', intArg, 8192)
    .option('--block-size <n>', 'tokens per KV block', intArg, 16)
    .option('--max-num-batched-tokens <n>', 'token budget of a step', intArg)
    .option('--num-gpu-blocks <n>', 'KV blocks (default from the cost model)', intArg)
    .option('--vocab-size <n>', 'token ids are drawn below this', intArg, 128256)
    .option('--seed <n>', 'seed', intArg, 0)
    .option('--output-dir <dir>', 'where the chart goes')
    .action(async (o: SimulateOptions) => {
      await runSimulate(o);
    });

  return program;
}
