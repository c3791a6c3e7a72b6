import { InvalidArgumentError, didYouMean } from '@vllm-ts/core';
import { SpeculativeDecodingRequiresV1Error } from './speculative-decoding-requires-v1-error.js';

/** Longest draft vLLM verifies in one step (`MAX_SPEC_LEN`). */
export const MAX_NUM_SPECULATIVE_TOKENS = 128;

/** Speculative decoding settings as a user writes them (vLLM's `--speculative-config`, camelCase or snake_case keys). */
export interface SpeculativeConfigInput {
  /** The proposer; only `ngram` (prompt lookup) exists. */
  readonly method: 'ngram';
  /** Draft tokens proposed per step, 1..{@link MAX_NUM_SPECULATIVE_TOKENS}. */
  readonly numSpeculativeTokens: number;
  /** Shortest suffix n-gram matched (default: `promptLookupMax` if given, else 5). */
  readonly promptLookupMin?: number;
  /** Longest suffix n-gram matched (default: `promptLookupMin` if given, else 5). */
  readonly promptLookupMax?: number;
}

/** A validated speculative config with vLLM's defaults filled in (frozen). */
export interface ResolvedSpeculativeConfig {
  readonly method: 'ngram';
  readonly numSpeculativeTokens: number;
  readonly promptLookupMin: number;
  readonly promptLookupMax: number;
}

const FIELDS = ['method', 'numSpeculativeTokens', 'promptLookupMin', 'promptLookupMax'] as const;
const SNAKE: Readonly<Record<string, (typeof FIELDS)[number]>> = {
  num_speculative_tokens: 'numSpeculativeTokens',
  prompt_lookup_min: 'promptLookupMin',
  prompt_lookup_max: 'promptLookupMax',
};
const SCOPE = 'speculativeConfig';

/**
 * Validates a speculative config and applies vLLM's n-gram defaults: neither lookup bound given →
 * both 5; one given → the other copies it; then `1 <= promptLookupMin <= promptLookupMax`.
 * vLLM's snake_case keys (`num_speculative_tokens`, `prompt_lookup_min`, `prompt_lookup_max`) are
 * accepted too, so a `--speculative-config` JSON written for vLLM works unchanged.
 *
 * @param input the user's config (an object, e.g. parsed from `--speculative-config`)
 * @param engineVersion the engine it is for; speculative decoding runs only on `v1`
 * @returns the resolved, frozen config
 * @throws {InvalidArgumentError} `invalid_option` naming the offending field (`speculativeConfig.<field>`)
 * @throws {SpeculativeDecodingRequiresV1Error} when `engineVersion` is not `v1`
 * @example
 * ```ts
 * resolveSpeculativeConfig({ method: 'ngram', numSpeculativeTokens: 4, promptLookupMax: 3 });
 * // { method: 'ngram', numSpeculativeTokens: 4, promptLookupMin: 3, promptLookupMax: 3 }
 * ```
 */
export function resolveSpeculativeConfig(input: unknown, engineVersion: 'v0' | 'v1' = 'v1'): ResolvedSpeculativeConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidArgumentError('invalid_option', 'EngineArgs', SCOPE, 'an object like {"method": "ngram", "numSpeculativeTokens": 4}', input);
  }
  const o: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const name = SNAKE[key] ?? key;
    if (!(FIELDS as readonly string[]).includes(name)) {
      const guess = didYouMean(key, [...FIELDS, ...Object.keys(SNAKE)]);
      bad(key, 'a known field', value, guess ? `Did you mean "${guess}"?` : `Known fields: ${FIELDS.join(', ')}`);
    }
    if (name in o) bad(key, `given once (it duplicates ${name})`, value);
    o[name] = value;
  }
  if (o['method'] !== 'ngram') bad('method', '"ngram" (the only proposer implemented)', o['method']);
  const numSpeculativeTokens = int('numSpeculativeTokens', o['numSpeculativeTokens'], MAX_NUM_SPECULATIVE_TOKENS);
  const givenMin = o['promptLookupMin'] === undefined ? undefined : int('promptLookupMin', o['promptLookupMin']);
  const givenMax = o['promptLookupMax'] === undefined ? undefined : int('promptLookupMax', o['promptLookupMax']);
  // NOTE: vLLM's defaults (config/speculative.py): 5 and 5, or a copy of the one bound given.
  const promptLookupMin = givenMin ?? givenMax ?? 5;
  const promptLookupMax = givenMax ?? givenMin ?? 5;
  if (promptLookupMin > promptLookupMax) bad('promptLookupMax', `an integer >= promptLookupMin (${promptLookupMin})`, promptLookupMax);
  if (engineVersion !== 'v1') throw new SpeculativeDecodingRequiresV1Error(engineVersion);
  return Object.freeze({ method: 'ngram', numSpeculativeTokens, promptLookupMin, promptLookupMax });
}

function int(field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    bad(field, max === Number.MAX_SAFE_INTEGER ? 'an integer >= 1' : `an integer in [1, ${max}]`, v);
  }
  return v;
}

function bad(field: string, expected: string, received: unknown, hint?: string): never {
  throw new InvalidArgumentError('invalid_option', 'EngineArgs', `${SCOPE}.${field}`, expected, received, hint);
}
