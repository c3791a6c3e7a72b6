import { existsSync, statSync } from 'node:fs';
import { InvalidArgumentError, didYouMean } from '@vllm-ts/core';
import { resolveSpeculativeConfig, type ResolvedSpeculativeConfig, type SpeculativeConfigInput } from '../spec-decode/index.js';

/** Which engine runs the requests: vLLM's V0 (one loop, prefill-first) or V1 (token budget, worker thread). */
export type EngineVersion = 'v0' | 'v1';

/** Where the model runs; `auto` picks CUDA when the CUDA backend is available, else the CPU. */
export type DeviceOption = 'auto' | 'cpu' | 'cuda';

/** Weight precision; `auto` keeps the checkpoint's (float32 on the CPU). */
export type DtypeOption = 'auto' | 'float32' | 'bfloat16' | 'float16';

/** How weights are read; `dummy` makes random weights of the configured shape (benchmarks). */
export type LoadFormatOption = 'auto' | 'safetensors' | 'dummy';

/** Speculative decoding settings (vLLM's `--speculative-config`): n-gram prompt lookup; snake_case keys accepted. */
export type SpeculativeConfig = SpeculativeConfigInput;

/** Options of `LLM.create`, `LLMEngine.create` and `AsyncLLM.create`: the camelCase of vLLM's engine args. */
export interface EngineArgs {
  /** Hugging Face model folder or Hub id; absent = the bundled default model. */
  model?: string;
  /** Tokenizer folder; default = the model's. */
  tokenizer?: string;
  /** Name reported to clients; default = `model`. */
  servedModelName?: string;
  /** `v0` or `v1`; absent: `VLLM_USE_V1=0|1` decides; default `v1`. */
  engineVersion?: EngineVersion;
  device?: DeviceOption;
  dtype?: DtypeOption;
  loadFormat?: LoadFormatOption;
  /** Seed of the engine's random generator (requests without their own seed draw from it). Default 0. */
  seed?: number;
  /** Tokens per KV-cache block. Default 16. */
  blockSize?: number;
  /** Reuse KV blocks across requests sharing a prefix. V1 default on, V0 default off. */
  enablePrefixCaching?: boolean;
  /** Split long prompts over several steps. V1 always; V0 default off. */
  enableChunkedPrefill?: boolean;
  /** Most requests running at once. Default 256. */
  maxNumSeqs?: number;
  /** Token budget of one step. Default: V1 8192 (4096 on the CPU); V0 max(maxModelLen, 2048), or 512 when chunking. */
  maxNumBatchedTokens?: number;
  /** Longest prompt + output; default and upper bound: the model's. */
  maxModelLen?: number;
  /** Fraction of device memory the engine may use (CUDA). Default 0.9. */
  gpuMemoryUtilization?: number;
  /** Bytes of KV cache, instead of the utilization (also sizes the CPU cache). */
  kvCacheMemoryBytes?: number;
  /** Explicit KV block count (overrides the memory settings). */
  numGpuBlocks?: number;
  /** GiB of CPU memory for swapped-out blocks (V0). Default 4. */
  swapSpace?: number;
  /** How V0 preempts; absent: recompute for single sequences, swap for parallel sampling. */
  preemptionMode?: 'recompute' | 'swap';
  /** Order of admission. Default `fcfs`. */
  schedulingPolicy?: 'fcfs' | 'priority';
  /** Cap on one request's prefill tokens per step (0 = none). */
  longPrefillTokenThreshold?: number;
  /** V0: hold new prefills until the oldest waited this fraction of the last prompt's latency. Default 0. */
  schedulerDelayFactor?: number;
  speculativeConfig?: SpeculativeConfig;
  /** Hash of prefix-cache blocks. Default `murmur3_128` (fast, like vLLM's builtin hash); `sha256` resists crafted collisions between tenants. */
  prefixCachingHashAlgo?: 'sha256' | 'murmur3_128';
  /** CUDA: never capture CUDA graphs; every decode step launches its kernels. Default false. */
  enforceEager?: boolean;
  /**
   * vLLM's `--async-scheduling` (V1 only): the engine core schedules and submits step N+1 while step
   * N still runs on the device, so host-side scheduling and input preparation hide behind the GPU.
   * Default false. Refused with engine V0 and with speculative decoding.
   */
  asyncScheduling?: boolean;
  /**
   * Where request sampling defaults come from (vLLM's `--generation-config`): `auto` (default) the
   * model folder's `generation_config.json`; `vllm` none (SamplingParams' own); or a folder holding one.
   * Its `temperature`, `top_p`, `top_k`, `min_p`, `repetition_penalty` and `max_new_tokens` apply to
   * requests that leave them unset.
   */
  generationConfig?: 'auto' | 'vllm' | (string & {});
  /** Generation-config keys (snake_case, e.g. `{ temperature: 0.5, max_new_tokens: 64 }`) that replace the file's (vLLM's `--override-generation-config`). */
  overrideGenerationConfig?: Readonly<Record<string, unknown>>;
  /** Called while weights load, with bytes loaded and the total. */
  onLoadProgress?: (loadedBytes: number, totalBytes: number) => void;
}

/** {@link EngineArgs} validated, with every default that does not need the model filled in. */
export interface EngineSettings {
  readonly model: string | null;
  readonly tokenizer: string | null;
  readonly servedModelName: string | null;
  readonly engineVersion: EngineVersion;
  readonly device: DeviceOption;
  readonly dtype: DtypeOption;
  readonly loadFormat: LoadFormatOption;
  readonly seed: number;
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
  readonly enableChunkedPrefill: boolean;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number | null;
  readonly maxModelLen: number | null;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheMemoryBytes: number | null;
  readonly numGpuBlocks: number | null;
  readonly swapSpace: number;
  readonly preemptionMode: 'recompute' | 'swap' | null;
  readonly schedulingPolicy: 'fcfs' | 'priority';
  readonly longPrefillTokenThreshold: number;
  readonly schedulerDelayFactor: number;
  readonly speculativeConfig: ResolvedSpeculativeConfig | null;
  readonly prefixCachingHashAlgo: 'sha256' | 'murmur3_128';
  readonly enforceEager: boolean;
  readonly asyncScheduling: boolean;
  /** `auto`, `vllm` or a folder. */
  readonly generationConfig: string;
  readonly overrideGenerationConfig: Readonly<Record<string, unknown>>;
}

const KEYS = [
  'model', 'tokenizer', 'servedModelName', 'engineVersion', 'device', 'dtype', 'loadFormat', 'seed', 'blockSize',
  'enablePrefixCaching', 'enableChunkedPrefill', 'maxNumSeqs', 'maxNumBatchedTokens', 'maxModelLen',
  'gpuMemoryUtilization', 'kvCacheMemoryBytes', 'numGpuBlocks', 'enforceEager', 'asyncScheduling', 'swapSpace', 'preemptionMode', 'schedulingPolicy',
  'longPrefillTokenThreshold', 'schedulerDelayFactor', 'speculativeConfig', 'prefixCachingHashAlgo', 'onLoadProgress',
  'generationConfig', 'overrideGenerationConfig',
] as const satisfies readonly (keyof EngineArgs)[];

/** vLLM's snake_case / CLI spellings users paste, mapped to ours for the did-you-mean. */
const ALIASES: Readonly<Record<string, string>> = Object.fromEntries(
  KEYS.map((k) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), k]),
);

/**
 * Validates engine options and fills the defaults that do not depend on the model.
 *
 * @param args the caller's options
 * @param env environment to read `VLLM_USE_V1` from (default `process.env`)
 * @returns frozen settings
 * @throws InvalidArgumentError (`invalid_option`) naming the option, what it accepts and what came in,
 *   with a did-you-mean for unknown names
 * @throws SpeculativeDecodingRequiresV1Error (`speculative_decoding_requires_v1`) for `speculativeConfig` on engine V0
 * @throws InvalidArgumentError (`invalid_option`, field `asyncScheduling`) for async scheduling with engine V0 or
 *   with `speculativeConfig`
 */
export function resolveEngineArgs(args: EngineArgs = {}, env: NodeJS.ProcessEnv = process.env): EngineSettings {
  if (typeof args !== 'object' || args === null) bad('(args)', 'an object', args);
  for (const key of Object.keys(args)) {
    if ((KEYS as readonly string[]).includes(key)) continue;
    const guess = ALIASES[key] ?? didYouMean(key, KEYS);
    const value = (args as Record<string, unknown>)[key];
    bad(key, 'a known option', value, guess ? `Did you mean "${guess}"?` : `Known options: ${KEYS.join(', ')}`);
  }
  const a = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as EngineArgs;

  const engineVersion = a.engineVersion ?? versionFromEnv(env);
  oneOf('engineVersion', engineVersion, ['v0', 'v1']);
  const v1 = engineVersion === 'v1';
  const str = (k: 'model' | 'tokenizer' | 'servedModelName'): string | null => {
    const v = a[k];
    if (v === undefined) return null;
    if (typeof v !== 'string' || v.length === 0) bad(k, 'a non-empty string', v);
    return v;
  };
  const device = oneOf('device', a.device ?? 'auto', ['auto', 'cpu', 'cuda']);
  const dtype = oneOf('dtype', a.dtype ?? 'auto', ['auto', 'float32', 'bfloat16', 'float16']);
  const loadFormat = oneOf('loadFormat', a.loadFormat ?? 'auto', ['auto', 'safetensors', 'dummy']);
  const seed = int('seed', a.seed ?? 0, -Number.MAX_SAFE_INTEGER);
  const blockSize = int('blockSize', a.blockSize ?? 16, 1, 256);
  if ((blockSize & (blockSize - 1)) !== 0) bad('blockSize', 'a power of two in [1, 256]', blockSize);
  const enablePrefixCaching = bool('enablePrefixCaching', a.enablePrefixCaching ?? v1);
  const enableChunkedPrefill = bool('enableChunkedPrefill', a.enableChunkedPrefill ?? v1);
  if (v1 && !enableChunkedPrefill) {
    bad('enableChunkedPrefill', 'true or absent with engineVersion "v1" (V1 always chunks prefills)', false);
  }
  const preemptionMode = a.preemptionMode === undefined ? null : oneOf('preemptionMode', a.preemptionMode, ['recompute', 'swap']);
  if (v1 && preemptionMode === 'swap') {
    bad('preemptionMode', '"recompute" or absent with engineVersion "v1" (V1 preempts by recompute only)', 'swap');
  }
  const schedulerDelayFactor = num('schedulerDelayFactor', a.schedulerDelayFactor ?? 0, 0, Infinity);
  if (v1 && schedulerDelayFactor !== 0) bad('schedulerDelayFactor', '0 or absent with engineVersion "v1" (a V0 option)', schedulerDelayFactor);
  const optInt = (k: 'maxNumBatchedTokens' | 'maxModelLen' | 'kvCacheMemoryBytes' | 'numGpuBlocks'): number | null =>
    a[k] === undefined ? null : int(k, a[k], 1);
  const maxNumBatchedTokens = optInt('maxNumBatchedTokens');
  // NOTE: a small explicit token budget lowers the default sequence cap with it, so tiny budgets stay valid.
  const maxNumSeqs = int('maxNumSeqs', a.maxNumSeqs ?? Math.min(256, maxNumBatchedTokens ?? 256), 1);
  if (maxNumBatchedTokens !== null && maxNumBatchedTokens < maxNumSeqs) {
    bad('maxNumBatchedTokens', `at least maxNumSeqs (${maxNumSeqs})`, maxNumBatchedTokens);
  }
  // NOTE: V0 with both features schedules prefill chunks in whole blocks; a budget below one block never schedules one.
  if (!v1 && enableChunkedPrefill && enablePrefixCaching && maxNumBatchedTokens !== null && maxNumBatchedTokens < blockSize) {
    bad('maxNumBatchedTokens', `at least blockSize (${blockSize}) with V0 chunked prefill and prefix caching`, maxNumBatchedTokens);
  }
  const gpuMemoryUtilization = num('gpuMemoryUtilization', a.gpuMemoryUtilization ?? 0.9, 0, 1);
  if (gpuMemoryUtilization <= 0) bad('gpuMemoryUtilization', 'a number in (0, 1]', gpuMemoryUtilization);
  const speculativeConfig = a.speculativeConfig === undefined ? null : resolveSpeculativeConfig(a.speculativeConfig, v1 ? 'v1' : 'v0');
  const asyncScheduling = bool('asyncScheduling', a.asyncScheduling ?? false);
  if (asyncScheduling && !v1) bad('asyncScheduling', 'false or absent with engineVersion "v0" (async scheduling is a V1 feature)', true);
  if (asyncScheduling && speculativeConfig !== null) {
    bad('asyncScheduling', 'false or absent together with speculativeConfig (drafts need the previous step\'s tokens on the host)', true, 'Drop one of asyncScheduling and speculativeConfig.');
  }
  if (a.onLoadProgress !== undefined && typeof a.onLoadProgress !== 'function') bad('onLoadProgress', 'a function', a.onLoadProgress);
  const generationConfig = a.generationConfig ?? 'auto';
  if (typeof generationConfig !== 'string' || generationConfig.length === 0) {
    bad('generationConfig', '"auto", "vllm" or a folder holding generation_config.json', generationConfig);
  }
  if (generationConfig !== 'auto' && generationConfig !== 'vllm' && !(existsSync(generationConfig) && statSync(generationConfig).isDirectory())) {
    bad('generationConfig', '"auto", "vllm" or an existing folder', generationConfig);
  }
  const override = a.overrideGenerationConfig ?? {};
  if (typeof override !== 'object' || override === null || Array.isArray(override)) {
    bad('overrideGenerationConfig', 'an object of generation-config keys (e.g. { "temperature": 0.5 })', override);
  }

  return Object.freeze({
    model: str('model'),
    tokenizer: str('tokenizer'),
    servedModelName: str('servedModelName'),
    engineVersion,
    device,
    dtype,
    loadFormat,
    seed,
    blockSize,
    enablePrefixCaching,
    enableChunkedPrefill,
    maxNumSeqs,
    maxNumBatchedTokens,
    maxModelLen: optInt('maxModelLen'),
    gpuMemoryUtilization,
    kvCacheMemoryBytes: optInt('kvCacheMemoryBytes'),
    numGpuBlocks: optInt('numGpuBlocks'),
    swapSpace: num('swapSpace', a.swapSpace ?? 4, 0, 1 << 20),
    preemptionMode,
    schedulingPolicy: oneOf('schedulingPolicy', a.schedulingPolicy ?? 'fcfs', ['fcfs', 'priority']),
    longPrefillTokenThreshold: int('longPrefillTokenThreshold', a.longPrefillTokenThreshold ?? 0, 0),
    schedulerDelayFactor,
    speculativeConfig,
    prefixCachingHashAlgo: oneOf('prefixCachingHashAlgo', a.prefixCachingHashAlgo ?? 'murmur3_128', ['sha256', 'murmur3_128']),
    enforceEager: bool('enforceEager', a.enforceEager ?? false),
    asyncScheduling,
    generationConfig,
    overrideGenerationConfig: Object.freeze({ ...override }),
  });
}

function versionFromEnv(env: NodeJS.ProcessEnv): EngineVersion {
  const raw = env['VLLM_USE_V1'];
  if (raw === undefined || raw === '' || raw === '1') return 'v1';
  if (raw === '0') return 'v0';
  throw new InvalidArgumentError('invalid_option', 'env', 'VLLM_USE_V1', '"0" or "1"', raw);
}

function bad(field: string, expected: string, received: unknown, hint?: string): never {
  throw new InvalidArgumentError('invalid_option', 'EngineArgs', field, expected, received, hint);
}

function oneOf<const T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    const guess = typeof v === 'string' ? didYouMean(v, allowed) : undefined;
    bad(field, `one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}`, v, guess ? `Did you mean "${guess}"?` : undefined);
  }
  return v as T;
}

function int(field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(field, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, v);
  }
  return v;
}

function num(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    bad(field, max === Infinity ? `a finite number >= ${min}` : `a number in [${min}, ${max}]`, v);
  }
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') bad(field, 'a boolean', v);
  return v;
}
