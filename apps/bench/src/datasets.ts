import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@vllm-ts/core';
import { SeededRandom } from './rng.js';
import { SONNET_LINES } from './sonnet-text.js';

/** One benchmark request: the prompt as token ids (and text when the dataset has it) and how many tokens to generate. */
export interface BenchRequest {
  readonly promptTokenIds: readonly number[];
  /** The prompt text, for datasets made of text (sonnet, custom); absent for synthetic token ids. */
  readonly prompt?: string;
  /** Tokens to generate (`maxTokens`, with EOS ignored). */
  readonly outputLen: number;
}

/** Options of {@link randomDataset}. */
export interface RandomDatasetOptions {
  readonly numPrompts: number;
  readonly inputLen: number;
  readonly outputLen: number;
  /** Lengths are drawn uniformly in `[len * (1 - r), len * (1 + r)]`; 0 (default) makes them exact. */
  readonly rangeRatio?: number;
  /** A random prefix of this many tokens shared by every prompt, before its own `inputLen` tokens. Default 0. */
  readonly prefixLen?: number;
  /** Token ids are drawn from `[firstTokenId, vocabSize)`. */
  readonly vocabSize: number;
  /** Ids below this (special tokens) are never drawn. Default 16. */
  readonly firstTokenId?: number;
  readonly seed?: number;
}

/** Options of {@link prefixRepetitionDataset}. */
export interface PrefixRepetitionDatasetOptions {
  readonly numPrompts: number;
  /** Tokens in each shared prefix. */
  readonly prefixLen: number;
  /** Random tokens after the prefix, unique per prompt. */
  readonly suffixLen: number;
  /** Distinct prefixes; prompt `i` uses prefix `i % numPrefixes`. */
  readonly numPrefixes: number;
  readonly outputLen: number;
  readonly vocabSize: number;
  readonly firstTokenId?: number;
  readonly seed?: number;
}

/** Options of {@link sonnetDataset}. */
export interface SonnetDatasetOptions {
  readonly numPrompts: number;
  /** Target prompt length in tokens (lines are added until it is reached or passed). */
  readonly inputLen: number;
  /** Lines of the poem every prompt starts with (the shared prefix). Default 4. */
  readonly prefixLines?: number;
  readonly outputLen: number;
  /** The tokenizer's encoder. */
  readonly encode: (text: string) => readonly number[];
  /** Replaces the bundled poem. */
  readonly lines?: readonly string[];
  readonly seed?: number;
}

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError('invalid_option', 'dataset', name, `an integer >= ${min}`, value);
  return value;
}

function randomTokens(rng: SeededRandom, n: number, lo: number, vocabSize: number): number[] {
  return Array.from({ length: n }, () => rng.int(lo, vocabSize - 1));
}

function jitter(rng: SeededRandom, len: number, ratio: number): number {
  if (ratio === 0) return len;
  return Math.max(1, rng.int(Math.floor(len * (1 - ratio)), Math.ceil(len * (1 + ratio))));
}

/**
 * vLLM's `random` dataset: prompts of random token ids (optionally after a shared random prefix).
 * @param o sizes, vocabulary and seed
 * @returns `numPrompts` requests
 * @throws InvalidArgumentError `invalid_option` for a non-positive size or a range ratio outside [0, 1)
 */
export function randomDataset(o: RandomDatasetOptions): BenchRequest[] {
  positiveInt('numPrompts', o.numPrompts);
  positiveInt('inputLen', o.inputLen);
  positiveInt('outputLen', o.outputLen);
  const ratio = o.rangeRatio ?? 0;
  if (!(ratio >= 0 && ratio < 1)) throw new InvalidArgumentError('invalid_option', 'dataset', 'rangeRatio', 'a number in [0, 1)', ratio);
  const lo = o.firstTokenId ?? 16;
  const rng = new SeededRandom(o.seed ?? 0);
  const prefix = randomTokens(rng, positiveInt('prefixLen', o.prefixLen ?? 0, 0), lo, o.vocabSize);
  return Array.from({ length: o.numPrompts }, () => ({
    promptTokenIds: [...prefix, ...randomTokens(rng, jitter(rng, o.inputLen, ratio), lo, o.vocabSize)],
    outputLen: jitter(rng, o.outputLen, ratio),
  }));
}

/**
 * vLLM's `prefix_repetition` dataset: a few shared prefixes, each followed by a unique suffix.
 * Prompts are interleaved across prefixes, so a cache must hold every prefix to hit.
 * @param o sizes, vocabulary and seed
 * @returns `numPrompts` requests
 * @throws InvalidArgumentError `invalid_option` for a non-positive size
 */
export function prefixRepetitionDataset(o: PrefixRepetitionDatasetOptions): BenchRequest[] {
  positiveInt('numPrompts', o.numPrompts);
  positiveInt('prefixLen', o.prefixLen, 0);
  positiveInt('suffixLen', o.suffixLen, 0);
  positiveInt('numPrefixes', o.numPrefixes);
  positiveInt('outputLen', o.outputLen);
  if (o.prefixLen + o.suffixLen < 1) throw new InvalidArgumentError('invalid_option', 'dataset', 'prefixLen + suffixLen', 'at least 1', 0);
  const lo = o.firstTokenId ?? 16;
  const rng = new SeededRandom(o.seed ?? 0);
  const prefixes = Array.from({ length: o.numPrefixes }, () => randomTokens(rng, o.prefixLen, lo, o.vocabSize));
  return Array.from({ length: o.numPrompts }, (_, i) => ({
    promptTokenIds: [...prefixes[i % o.numPrefixes]!, ...randomTokens(rng, o.suffixLen, lo, o.vocabSize)],
    outputLen: o.outputLen,
  }));
}

/**
 * vLLM's `sonnet` dataset: every prompt starts with the same first lines of a poem, then random
 * lines of it until the prompt reaches `inputLen` tokens.
 * @param o sizes, encoder and seed
 * @returns `numPrompts` requests with text and token ids
 * @throws InvalidArgumentError `invalid_option` for a non-positive size or an empty poem
 */
export function sonnetDataset(o: SonnetDatasetOptions): BenchRequest[] {
  positiveInt('numPrompts', o.numPrompts);
  positiveInt('inputLen', o.inputLen);
  positiveInt('outputLen', o.outputLen);
  const lines = o.lines ?? SONNET_LINES;
  if (lines.length === 0) throw new InvalidArgumentError('invalid_option', 'dataset', 'lines', 'at least one line', 0);
  const prefixLines = Math.min(positiveInt('prefixLines', o.prefixLines ?? 4, 0), lines.length);
  const rng = new SeededRandom(o.seed ?? 0);
  const head = lines.slice(0, prefixLines).join('\n');
  return Array.from({ length: o.numPrompts }, () => {
    let text = head;
    let ids = o.encode(text);
    while (ids.length < o.inputLen) {
      text = text.length === 0 ? lines[rng.int(0, lines.length - 1)]! : `${text}\n${lines[rng.int(0, lines.length - 1)]!}`;
      ids = o.encode(text);
    }
    return { prompt: text, promptTokenIds: ids, outputLen: o.outputLen };
  });
}

/**
 * A custom JSONL dataset: one object per line with `prompt` (text) or `prompt_token_ids`, and
 * optionally `output_tokens` (default `defaultOutputLen`). Blank lines are skipped.
 * @param file path of the JSONL file
 * @param encode the tokenizer's encoder, for text prompts
 * @param defaultOutputLen tokens to generate when a line does not say
 * @returns the requests, in file order
 * @throws InvalidArgumentError `invalid_dataset` naming the line that is not valid JSON or lacks a prompt
 */
export function customDataset(file: string, encode: (text: string) => readonly number[], defaultOutputLen: number): BenchRequest[] {
  const out: BenchRequest[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: { prompt?: unknown; prompt_token_ids?: unknown; output_tokens?: unknown };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      throw new InvalidArgumentError('invalid_dataset', file, `line ${i + 1}`, 'a JSON object', line.slice(0, 80));
    }
    const outputLen = typeof row.output_tokens === 'number' ? positiveInt(`line ${i + 1} output_tokens`, row.output_tokens) : defaultOutputLen;
    if (typeof row.prompt === 'string' && row.prompt.length > 0) {
      out.push({ prompt: row.prompt, promptTokenIds: encode(row.prompt), outputLen });
    } else if (Array.isArray(row.prompt_token_ids) && row.prompt_token_ids.length > 0 && row.prompt_token_ids.every((t) => Number.isInteger(t))) {
      out.push({ promptTokenIds: row.prompt_token_ids as number[], outputLen });
    } else {
      throw new InvalidArgumentError('invalid_dataset', file, `line ${i + 1}`, 'a non-empty "prompt" string or "prompt_token_ids" array', row);
    }
  });
  return out;
}
