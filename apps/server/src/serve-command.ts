import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import type { EngineArgs } from '@vllm-ts/engine';
import { TOOL_PARSER_NAMES } from './tool-parsers/tool-parser-registry.js';
import { SERVER_VERSION } from './version.js';

/** Engine options the CLI passes to `AsyncLLM.create` (the camelCase of vLLM's engine args). */
export type ServeEngineArgs = Omit<EngineArgs, 'onLoadProgress'>;

/** Everything `vllm-ts serve` was asked to do. */
export interface ServeConfig {
  /** The model argument, or undefined for the bundled default model. */
  readonly model: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly apiKeys: readonly string[];
  readonly servedModelNames: readonly string[];
  /** CORS origins (`*`: any). */
  readonly allowedOrigins: readonly string[];
  readonly engineArgs: ServeEngineArgs;
  readonly maxLogprobs: number;
  readonly disableLogRequests: boolean;
  readonly disableLogStats: boolean;
  readonly enablePromptTokensDetails: boolean;
  readonly enableForceIncludeUsage: boolean;
  /** Parse tool calls for `tool_choice: "auto"` (needs {@link ServeConfig.toolCallParser}). */
  readonly enableAutoToolChoice: boolean;
  /** The tool-call format (`hermes`, `llama3_json`), or undefined. */
  readonly toolCallParser: string | undefined;
  /** Seconds in-flight requests get to finish on SIGTERM/SIGINT. */
  readonly shutdownTimeout: number;
}

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => (value: string) => {
  const x = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || x < min || x > max) {
    throw new CommanderArgumentError(`expected an integer in [${min}, ${max}], got "${value}"`);
  }
  return x;
};

const fraction = (value: string) => {
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0 || x > 1) throw new CommanderArgumentError(`expected a number in (0, 1], got "${value}"`);
  return x;
};

const nonNegative = (value: string) => {
  const x = Number(value);
  if (!Number.isFinite(x) || x < 0) throw new CommanderArgumentError(`expected a number >= 0, got "${value}"`);
  return x;
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

const speculative = (value: string) => {
  try {
    const raw = JSON.parse(value) as Record<string, unknown>;
    // vLLM spells the JSON keys in snake_case; accept both.
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
    return out;
  } catch {
    throw new CommanderArgumentError(`expected JSON such as '{"method":"ngram","num_speculative_tokens":3}', got "${value}"`);
  }
};

const jsonObject = (value: string) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CommanderArgumentError(`expected a JSON object such as '{"temperature":0.5}', got "${value}"`);
  }
  return parsed as Record<string, unknown>;
};

/**
 * The `vllm-ts` program with its `serve` command (vLLM's flag names, kebab-case).
 * @param onServe called with the parsed configuration
 * @param env environment (for `VLLM_API_KEY`)
 * @returns the commander program
 */
export function buildProgram(onServe: (config: ServeConfig) => Promise<void> | void, env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('vllm-ts').description('vllm-ts: an LLM inference engine in TypeScript').version(SERVER_VERSION);
  program
    .command('serve')
    .description('Serve a model over an OpenAI-compatible HTTP API (the bundled default model when none is given)')
    .argument('[model]', 'Hugging Face model folder or Hub id')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', integer(0, 65535), 8000)
    .option('--api-key <key>', 'require this key (Authorization: Bearer) on /v1 routes; repeatable; env VLLM_API_KEY', collect)
    .option('--served-model-name <names...>', 'model name(s) clients use; the first is reported (default: the model path)')
    .option('--tokenizer <dir>', 'tokenizer folder (default: the model folder)')
    .option('--allowed-origins <origins...>', 'CORS: origins browsers may call from', ['*'])
    .addOption(new Option('--engine-version <version>', 'engine: v0 or v1 (default: VLLM_USE_V1, else v1)').choices(['v0', 'v1']))
    .addOption(new Option('--device <device>', 'where the model runs').choices(['auto', 'cpu', 'cuda']))
    .addOption(new Option('--dtype <dtype>', 'weight precision').choices(['auto', 'float32', 'bfloat16', 'float16']))
    .addOption(new Option('--load-format <format>', 'how weights are read (dummy: random weights)').choices(['auto', 'safetensors', 'dummy']))
    .option('--max-model-len <tokens>', 'longest prompt + output (default: the model config)', integer(1))
    .option('--max-num-seqs <n>', 'most requests running at once', integer(1))
    .option('--max-num-batched-tokens <n>', 'token budget of one engine step', integer(1))
    .option('--enable-prefix-caching', 'reuse KV blocks across requests sharing a prefix (V1 default)')
    .option('--no-enable-prefix-caching', 'turn prefix caching off')
    .option('--enable-chunked-prefill', 'split long prompts over several steps (V1 always)')
    .option('--no-enable-chunked-prefill', 'turn chunked prefill off (V0)')
    .option('--block-size <tokens>', 'tokens per KV-cache block', integer(1))
    .option('--gpu-memory-utilization <fraction>', 'fraction of device memory the engine may use', fraction)
    .option('--kv-cache-memory-bytes <bytes>', 'KV-cache size in bytes, instead of the utilization', integer(1))
    .option('--num-gpu-blocks-override <n>', 'explicit number of KV-cache blocks', integer(1))
    .option('--swap-space <GiB>', 'CPU swap space per engine (V0)', nonNegative)
    .addOption(new Option('--preemption-mode <mode>', 'how V0 preempts').choices(['recompute', 'swap']))
    .addOption(new Option('--scheduling-policy <policy>', 'admission order').choices(['fcfs', 'priority']))
    .option('--long-prefill-token-threshold <n>', 'cap on one request\'s prefill tokens per step', integer(0))
    .addOption(new Option('--prefix-caching-hash-algo <algo>', 'block hash').choices(['sha256', 'murmur3_128']))
    .option('--speculative-config <json>', 'speculative decoding, e.g. {"method":"ngram","num_speculative_tokens":3}', speculative)
    .option('--async-scheduling', 'schedule step N+1 while step N runs on the device (V1; not with --speculative-config)')
    .option(
      '--generation-config <source>',
      'request sampling defaults: auto (default: the model folder generation_config.json), vllm (none), or a folder holding one',
    )
    .option(
      '--override-generation-config <json>',
      'generation-config keys over the file, e.g. {"temperature":0.5,"max_new_tokens":128} (its max_new_tokens caps every request)',
      jsonObject,
    )
    .option('--seed <seed>', 'seed of the engine\'s random generator', integer(-Number.MAX_SAFE_INTEGER))
    .option('--max-logprobs <n>', 'most logprobs a request may ask for', integer(0), 20)
    .option('--disable-log-requests', 'do not log each request')
    .option('--disable-log-stats', 'do not log throughput and queue stats every 10 s')
    .option('--enable-prompt-tokens-details', 'report usage.prompt_tokens_details.cached_tokens')
    .option('--enable-force-include-usage', 'send usage at the end of every stream')
    .option('--enable-auto-tool-choice', 'parse tool calls out of chat output when tool_choice is "auto" (needs --tool-call-parser)')
    .addOption(new Option('--tool-call-parser <parser>', 'the model\'s tool-call format').choices(TOOL_PARSER_NAMES))
    .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, time in-flight requests get to finish', nonNegative, 30)
    .action(async (model: string | undefined, o: Record<string, unknown>, command: Command) => {
      if (o.enableAutoToolChoice === true && o.toolCallParser === undefined) {
        command.error('error: --enable-auto-tool-choice requires --tool-call-parser', { code: 'vllm-ts.toolCallParser' });
      }
      const fromEnv = env.VLLM_API_KEY ? [env.VLLM_API_KEY] : [];
      const served = (o.servedModelName as string[] | undefined) ?? [];
      const engineArgs: Record<string, unknown> = {
        model,
        tokenizer: o.tokenizer,
        servedModelName: served[0],
        engineVersion: o.engineVersion,
        device: o.device,
        dtype: o.dtype,
        loadFormat: o.loadFormat,
        seed: o.seed,
        blockSize: o.blockSize,
        enablePrefixCaching: o.enablePrefixCaching,
        enableChunkedPrefill: o.enableChunkedPrefill,
        maxNumSeqs: o.maxNumSeqs,
        maxNumBatchedTokens: o.maxNumBatchedTokens,
        maxModelLen: o.maxModelLen,
        gpuMemoryUtilization: o.gpuMemoryUtilization,
        kvCacheMemoryBytes: o.kvCacheMemoryBytes,
        numGpuBlocks: o.numGpuBlocksOverride,
        swapSpace: o.swapSpace,
        preemptionMode: o.preemptionMode,
        schedulingPolicy: o.schedulingPolicy,
        longPrefillTokenThreshold: o.longPrefillTokenThreshold,
        prefixCachingHashAlgo: o.prefixCachingHashAlgo,
        speculativeConfig: o.speculativeConfig,
        asyncScheduling: o.asyncScheduling,
        generationConfig: o.generationConfig,
        overrideGenerationConfig: o.overrideGenerationConfig,
      };
      for (const k of Object.keys(engineArgs)) if (engineArgs[k] === undefined) delete engineArgs[k];
      await onServe({
        model,
        host: o.host as string,
        port: o.port as number,
        apiKeys: (o.apiKey as string[] | undefined) ?? fromEnv,
        servedModelNames: served,
        allowedOrigins: o.allowedOrigins as string[],
        engineArgs: engineArgs as ServeEngineArgs,
        maxLogprobs: o.maxLogprobs as number,
        disableLogRequests: o.disableLogRequests === true,
        disableLogStats: o.disableLogStats === true,
        enablePromptTokensDetails: o.enablePromptTokensDetails === true,
        enableForceIncludeUsage: o.enableForceIncludeUsage === true,
        enableAutoToolChoice: o.enableAutoToolChoice === true,
        toolCallParser: o.toolCallParser as string | undefined,
        shutdownTimeout: o.shutdownTimeout as number,
      });
    });
  return program;
}
