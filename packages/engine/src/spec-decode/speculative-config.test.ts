import { InvalidArgumentError, VllmError } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { resolveSpeculativeConfig } from './speculative-config.js';
import { SpeculativeDecodingRequiresV1Error } from './speculative-decoding-requires-v1-error.js';

const base = { method: 'ngram', numSpeculativeTokens: 4 } as const;

describe('resolveSpeculativeConfig', () => {
  it('applies vLLM defaults: both 5, or a copy of the bound given', () => {
    expect(resolveSpeculativeConfig(base)).toEqual({ ...base, promptLookupMin: 5, promptLookupMax: 5 });
    expect(resolveSpeculativeConfig({ ...base, promptLookupMin: 2 })).toEqual({ ...base, promptLookupMin: 2, promptLookupMax: 2 });
    expect(resolveSpeculativeConfig({ ...base, promptLookupMax: 7 })).toEqual({ ...base, promptLookupMin: 7, promptLookupMax: 7 });
    expect(resolveSpeculativeConfig({ ...base, promptLookupMin: 1, promptLookupMax: 3 })).toEqual({ ...base, promptLookupMin: 1, promptLookupMax: 3 });
    expect(Object.isFrozen(resolveSpeculativeConfig(base))).toBe(true);
  });

  it('accepts the snake_case keys of a vLLM --speculative-config JSON', () => {
    const json = '{"method":"ngram","num_speculative_tokens":3,"prompt_lookup_max":4,"prompt_lookup_min":2}';
    expect(resolveSpeculativeConfig(JSON.parse(json))).toEqual({ method: 'ngram', numSpeculativeTokens: 3, promptLookupMin: 2, promptLookupMax: 4 });
  });

  it.each([
    [null, /EngineArgs\.speculativeConfig must be an object/],
    [{ ...base, method: 'eagle' }, /speculativeConfig\.method must be "ngram" \(the only proposer implemented\) \(got "eagle"\)/],
    [{ method: 'ngram' }, /speculativeConfig\.numSpeculativeTokens must be an integer in \[1, 128\] \(got undefined\)/],
    [{ ...base, numSpeculativeTokens: 0 }, /numSpeculativeTokens must be an integer in \[1, 128\] \(got 0\)/],
    [{ ...base, numSpeculativeTokens: 129 }, /numSpeculativeTokens/],
    [{ ...base, promptLookupMin: 0 }, /speculativeConfig\.promptLookupMin must be an integer >= 1 \(got 0\)/],
    [{ ...base, promptLookupMax: 2.5 }, /speculativeConfig\.promptLookupMax must be an integer >= 1/],
    [{ ...base, promptLookupMin: 4, promptLookupMax: 3 }, /speculativeConfig\.promptLookupMax must be an integer >= promptLookupMin \(4\) \(got 3\)/],
    [{ ...base, promptLookupMn: 2 }, /speculativeConfig\.promptLookupMn must be a known field .*Did you mean "promptLookupMin"\?/],
    [{ ...base, num_speculative_tokens: 2 }, /speculativeConfig\.num_speculative_tokens must be given once \(it duplicates numSpeculativeTokens\)/],
  ])('rejects %j with a typed error naming the field', (input, message) => {
    expect(() => resolveSpeculativeConfig(input)).toThrow(InvalidArgumentError);
    expect(() => resolveSpeculativeConfig(input)).toThrow(message);
  });

  it('says speculative decoding needs engine V1', () => {
    let error: unknown;
    try {
      resolveSpeculativeConfig(base, 'v0');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpeculativeDecodingRequiresV1Error);
    expect(VllmError.isInstance(error) && error.code).toBe('speculative_decoding_requires_v1');
    expect((error as Error).message).toMatch(/needs engine V1 \(got engineVersion "v0"\)/);
  });
});
