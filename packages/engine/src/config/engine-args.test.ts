import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SpeculativeDecodingRequiresV1Error } from '../spec-decode/index.js';
import { resolveEngineArgs, type SpeculativeConfig } from './engine-args.js';

const err = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { code: string; message: string; field: string };
  }
  throw new Error('expected a throw');
};

describe('resolveEngineArgs', () => {
  it('fills V1 and V0 defaults', () => {
    expect(resolveEngineArgs({}, {})).toMatchObject({
      engineVersion: 'v1',
      device: 'auto',
      blockSize: 16,
      enablePrefixCaching: true,
      enableChunkedPrefill: true,
      maxNumSeqs: 256,
      maxNumBatchedTokens: null,
      gpuMemoryUtilization: 0.9,
      seed: 0,
      schedulingPolicy: 'fcfs',
      prefixCachingHashAlgo: 'murmur3_128',
      enforceEager: false,
      speculativeConfig: null,
    });
    expect(resolveEngineArgs({ engineVersion: 'v0' }, {})).toMatchObject({ enablePrefixCaching: false, enableChunkedPrefill: false, swapSpace: 4 });
  });

  it('reads VLLM_USE_V1 when engineVersion is absent, and only then', () => {
    expect(resolveEngineArgs({}, { VLLM_USE_V1: '0' }).engineVersion).toBe('v0');
    expect(resolveEngineArgs({}, { VLLM_USE_V1: '1' }).engineVersion).toBe('v1');
    expect(resolveEngineArgs({ engineVersion: 'v1' }, { VLLM_USE_V1: '0' }).engineVersion).toBe('v1');
    expect(err(() => resolveEngineArgs({}, { VLLM_USE_V1: 'yes' }))).toMatchObject({ code: 'invalid_option', message: expect.stringContaining('VLLM_USE_V1') });
  });

  it('refuses unknown options with a did-you-mean, vLLM snake_case spellings included', () => {
    expect(err(() => resolveEngineArgs({ blocksize: 8 } as never, {}))).toMatchObject({
      code: 'invalid_option',
      field: 'blocksize',
      message: expect.stringContaining('Did you mean "blockSize"?'),
    });
    expect(err(() => resolveEngineArgs({ max_num_batched_tokens: 8 } as never, {})).message).toContain('Did you mean "maxNumBatchedTokens"?');
    expect(err(() => resolveEngineArgs({ banana: 1 } as never, {})).message).toContain('Known options: model');
  });

  it('checks values and combinations, naming what is allowed and what came in', () => {
    expect(err(() => resolveEngineArgs({ blockSize: 12 }, {})).message).toBe('EngineArgs.blockSize must be a power of two in [1, 256] (got 12)');
    expect(err(() => resolveEngineArgs({ device: 'gpu' as never }, {})).message).toContain('one of "auto", "cpu", "cuda" (got "gpu")');
    expect(err(() => resolveEngineArgs({ dtype: 'bfloat61' as never }, {})).message).toContain('Did you mean "bfloat16"?');
    expect(err(() => resolveEngineArgs({ gpuMemoryUtilization: 0 }, {})).field).toBe('gpuMemoryUtilization');
    expect(err(() => resolveEngineArgs({ enableChunkedPrefill: false }, {})).field).toBe('enableChunkedPrefill');
    expect(err(() => resolveEngineArgs({ preemptionMode: 'swap' }, {})).field).toBe('preemptionMode');
    expect(resolveEngineArgs({ engineVersion: 'v0', preemptionMode: 'swap' }, {}).preemptionMode).toBe('swap');
    expect(err(() => resolveEngineArgs({ schedulerDelayFactor: 0.5 }, {})).field).toBe('schedulerDelayFactor');
    expect(err(() => resolveEngineArgs({ maxNumBatchedTokens: 8, maxNumSeqs: 16 }, {})).field).toBe('maxNumBatchedTokens');
    expect(resolveEngineArgs({ maxNumBatchedTokens: 8 }, {}).maxNumSeqs).toBe(8);
    expect(err(() => resolveEngineArgs({ engineVersion: 'v0', enableChunkedPrefill: true, enablePrefixCaching: true, maxNumBatchedTokens: 8 }, {})).field).toBe(
      'maxNumBatchedTokens',
    );
    expect(err(() => resolveEngineArgs({ model: '' }, {})).field).toBe('model');
    expect(err(() => resolveEngineArgs({ onLoadProgress: 3 as never }, {})).field).toBe('onLoadProgress');
  });

  it('validates the speculative config', () => {
    expect(resolveEngineArgs({ speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3 } }, {}).speculativeConfig).toEqual({
      method: 'ngram',
      numSpeculativeTokens: 3,
      promptLookupMin: 5,
      promptLookupMax: 5,
    });
    expect(resolveEngineArgs({ speculativeConfig: { method: 'ngram', numSpeculativeTokens: 2, promptLookupMax: 3 } }, {}).speculativeConfig).toMatchObject({
      promptLookupMin: 3,
      promptLookupMax: 3,
    });
    expect(err(() => resolveEngineArgs({ speculativeConfig: { method: 'eagle' as never, numSpeculativeTokens: 3 } }, {})).field).toBe('speculativeConfig.method');
    expect(err(() => resolveEngineArgs({ speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3, promptLookupMin: 4, promptLookupMax: 2 } }, {})).field).toBe(
      'speculativeConfig.promptLookupMax',
    );
    expect(err(() => resolveEngineArgs({ speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3, promptLookupMn: 1 } as never }, {})).message).toContain(
      'Did you mean "promptLookupMin"?',
    );
    // A vLLM `--speculative-config` JSON passes through unchanged.
    const vllmJson = JSON.parse('{"method":"ngram","num_speculative_tokens":4,"prompt_lookup_min":2}') as SpeculativeConfig;
    expect(resolveEngineArgs({ speculativeConfig: vllmJson }, {}).speculativeConfig).toEqual({
      method: 'ngram',
      numSpeculativeTokens: 4,
      promptLookupMin: 2,
      promptLookupMax: 2,
    });
    const v0 = err(() => resolveEngineArgs({ engineVersion: 'v0', speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3 } }, {}));
    expect(v0).toBeInstanceOf(SpeculativeDecodingRequiresV1Error);
    expect(v0.code).toBe('speculative_decoding_requires_v1');
    expect(v0.message).toContain('engine V1');
    expect(err(() => resolveEngineArgs({ speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3 } }, { VLLM_USE_V1: '0' })).code).toBe(
      'speculative_decoding_requires_v1',
    );
  });

  it('generationConfig: auto by default, vllm, or an existing folder; overrideGenerationConfig an object', () => {
    expect(resolveEngineArgs({}, {})).toMatchObject({ generationConfig: 'auto', overrideGenerationConfig: {} });
    expect(resolveEngineArgs({ generationConfig: 'vllm', overrideGenerationConfig: { temperature: 0.5 } }, {})).toMatchObject({
      generationConfig: 'vllm',
      overrideGenerationConfig: { temperature: 0.5 },
    });
    expect(resolveEngineArgs({ generationConfig: tmpdir() }, {}).generationConfig).toBe(tmpdir());
    expect(err(() => resolveEngineArgs({ generationConfig: '/no/such/folder' }, {})).message).toBe(
      'EngineArgs.generationConfig must be "auto", "vllm" or an existing folder (got "/no/such/folder")',
    );
    expect(err(() => resolveEngineArgs({ generationConfig: '' }, {})).field).toBe('generationConfig');
    expect(err(() => resolveEngineArgs({ overrideGenerationConfig: [] as never }, {})).field).toBe('overrideGenerationConfig');
    expect(err(() => resolveEngineArgs({ generation_config: 'vllm' } as never, {})).message).toContain('Did you mean "generationConfig"?');
  });
});
