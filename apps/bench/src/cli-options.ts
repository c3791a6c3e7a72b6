import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '@vllm-ts/core';
import type { EngineArgs } from '@vllm-ts/engine';
import { customDataset, prefixRepetitionDataset, randomDataset, sonnetDataset, type BenchRequest } from './datasets.js';

/** Engine flags shared by the in-process subcommands, as commander parses them. */
export interface EngineFlags {
  model?: string;
  loadFormat?: 'auto' | 'safetensors' | 'dummy';
  engineVersion?: 'v0' | 'v1';
  device?: 'auto' | 'cpu' | 'cuda';
  dtype?: 'auto' | 'float32' | 'bfloat16' | 'float16';
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  maxModelLen?: number;
  numGpuBlocks?: number;
  blockSize?: number;
  enablePrefixCaching?: boolean;
  enableChunkedPrefill?: boolean;
  /** vLLM's `--speculative-config` JSON, parsed (the engine validates it). */
  speculativeConfig?: EngineArgs['speculativeConfig'];
  asyncScheduling?: boolean;
  seed: number;
}

/** Dataset flags shared by the in-process subcommands. */
export interface DatasetFlags {
  datasetName: 'random' | 'prefix-repetition' | 'sonnet' | 'custom';
  datasetPath?: string;
  numPrompts: number;
  inputLen: number;
  outputLen: number;
  rangeRatio: number;
  prefixLen: number;
  suffixLen: number;
  numPrefixes: number;
  seed: number;
}

/**
 * Parses a positive integer flag.
 * @param raw the flag's text
 * @returns the integer
 * @throws InvalidArgumentError `invalid_option` when it is not an integer >= 0
 */
export function intArg(raw: string): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError('invalid_option', 'cli', 'flag', 'an integer >= 0', raw);
  return v;
}

/**
 * Parses a finite number flag.
 * @param raw the flag's text
 * @returns the number
 * @throws InvalidArgumentError `invalid_option` when it is not a finite number
 */
export function numArg(raw: string): number {
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new InvalidArgumentError('invalid_option', 'cli', 'flag', 'a finite number', raw);
  return v;
}

/**
 * Parses a JSON object flag (e.g. `--speculative-config '{"method":"ngram","num_speculative_tokens":5}'`).
 * @param raw the flag's text
 * @returns the parsed object
 * @throws InvalidArgumentError `invalid_option` when it is not a JSON object
 */
export function jsonObjectArg<T>(raw: string): T {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError('invalid_option', 'cli', 'flag', 'a JSON object', raw);
  return v as T;
}

/**
 * Adds the engine flags (camelCase of vLLM's engine args) to a command.
 * @param cmd the command
 * @returns the command
 */
export function addEngineFlags(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'model folder or hub id (default: the bundled default model)')
    .addOption(new Option('--load-format <fmt>', 'weights: real or random of the same shape').choices(['auto', 'safetensors', 'dummy']))
    .addOption(new Option('--engine-version <v>', 'engine version').choices(['v0', 'v1']))
    .addOption(new Option('--device <d>').choices(['auto', 'cpu', 'cuda']))
    .addOption(new Option('--dtype <t>').choices(['auto', 'float32', 'bfloat16', 'float16']))
    .option('--max-num-seqs <n>', 'most requests in a step', intArg)
    .option('--max-num-batched-tokens <n>', 'token budget of a step', intArg)
    .option('--max-model-len <n>', 'longest sequence', intArg)
    .option('--num-gpu-blocks <n>', 'KV-cache blocks', intArg)
    .option('--block-size <n>', 'tokens per KV block', intArg)
    .option('--enable-prefix-caching', 'prefix caching on')
    .option('--no-enable-prefix-caching', 'prefix caching off')
    .option('--enable-chunked-prefill', 'chunked prefill on (V0; V1 always chunks)')
    .option('--no-enable-chunked-prefill', 'chunked prefill off (V0)')
    .option('--speculative-config <json>', 'speculative decoding, as vLLM: {"method":"ngram","num_speculative_tokens":k,...} (V1)', jsonObjectArg)
    .option('--async-scheduling', 'schedule step N+1 while step N runs on the device (V1)')
    .option('--seed <n>', 'seed of the engine and the workload', intArg, 0);
}

/**
 * Adds the dataset flags to a command.
 * @param cmd the command
 * @param defaults default sizes
 * @returns the command
 */
export function addDatasetFlags(cmd: Command, defaults: { numPrompts: number; inputLen: number; outputLen: number }): Command {
  return cmd
    .addOption(new Option('--dataset-name <name>', 'workload').choices(['random', 'prefix-repetition', 'sonnet', 'custom']).default('random'))
    .option('--dataset-path <file>', 'JSONL of {"prompt"|"prompt_token_ids", "output_tokens"?} (custom)')
    .option('--num-prompts <n>', 'requests', intArg, defaults.numPrompts)
    .option('--input-len <n>', 'prompt tokens (random: after the prefix; sonnet: target)', intArg, defaults.inputLen)
    .option('--output-len <n>', 'tokens to generate', intArg, defaults.outputLen)
    .option('--range-ratio <r>', 'random: lengths uniform in len*(1±r)', numArg, 0)
    .option('--prefix-len <n>', 'random: shared prefix tokens; prefix-repetition: prefix tokens; sonnet: prefix lines', intArg, 0)
    .option('--suffix-len <n>', 'prefix-repetition: unique tokens after the prefix', intArg, 64)
    .option('--num-prefixes <n>', 'prefix-repetition: distinct prefixes', intArg, 4);
}

/**
 * Engine options from the parsed flags (absent flags stay absent so engine defaults apply).
 * @param f parsed flags
 * @returns the engine options
 */
export function engineArgsOf(f: EngineFlags): EngineArgs {
  const a: Record<string, unknown> = { seed: f.seed };
  for (const k of ['model', 'loadFormat', 'engineVersion', 'device', 'dtype', 'maxNumSeqs', 'maxNumBatchedTokens', 'maxModelLen', 'numGpuBlocks', 'blockSize', 'enablePrefixCaching', 'enableChunkedPrefill', 'speculativeConfig', 'asyncScheduling'] as const) {
    if (f[k] !== undefined) a[k] = f[k];
  }
  return a as EngineArgs;
}

/**
 * Builds the workload the dataset flags describe.
 * @param f parsed flags
 * @param tok vocabulary size and encoder of the model
 * @returns the requests
 * @throws InvalidArgumentError `invalid_option` when `custom` has no `--dataset-path`
 */
export function buildDataset(f: DatasetFlags, tok: { vocabSize: number; encode: (text: string) => readonly number[] }): BenchRequest[] {
  const base = { numPrompts: f.numPrompts, outputLen: f.outputLen, seed: f.seed };
  switch (f.datasetName) {
    case 'random':
      return randomDataset({ ...base, inputLen: f.inputLen, rangeRatio: f.rangeRatio, prefixLen: f.prefixLen, vocabSize: tok.vocabSize });
    case 'prefix-repetition':
      return prefixRepetitionDataset({ ...base, prefixLen: f.prefixLen, suffixLen: f.suffixLen, numPrefixes: f.numPrefixes, vocabSize: tok.vocabSize });
    case 'sonnet':
      return sonnetDataset({ ...base, inputLen: f.inputLen, prefixLines: f.prefixLen, encode: tok.encode });
    case 'custom':
      if (f.datasetPath === undefined) throw new InvalidArgumentError('invalid_option', 'cli', '--dataset-path', 'a JSONL file for --dataset-name custom', undefined);
      return customDataset(f.datasetPath, tok.encode, f.outputLen).slice(0, f.numPrompts);
  }
}
