import { SamplingParams } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import type { GenerationDefaults } from './engine-types.js';
import { resolveMaxTokens, samplingParamsFromRequest, type SamplingLimits } from './sampling-params-from-request.js';

const NONE: GenerationDefaults = { source: 'vllm', params: {}, maxTokensCap: null };
const QWEN: GenerationDefaults = { source: 'model', params: { temperature: 0.6, topK: 20, topP: 0.95, repetitionPenalty: 1.05, maxTokens: 64 }, maxTokensCap: null };
const limits = (generationDefaults = NONE, vocabSize: number | null = 1000): SamplingLimits => ({ maxLogprobs: 20, generationDefaults, vocabSize });

describe('samplingParamsFromRequest: logit_bias and allowed_token_ids', () => {
  it('turns string keys into token ids and clamps values to [-100, 100], as vLLM does', () => {
    const p = samplingParamsFromRequest({ logit_bias: { '5': 150, ' 7 ': -250, '+9': 0.5, '011': 3 } }, 16, null, limits());
    expect(p.logitBias).toEqual({ 5: 100, 7: -100, 9: 0.5, 11: 3 });
    expect(samplingParamsFromRequest({ logit_bias: {} }, 16, null, limits()).logitBias).toBeNull();
    expect(samplingParamsFromRequest({ logit_bias: null }, 16, null, limits()).logitBias).toBeNull();
  });

  it('leaves the vocabulary check to the engine when the size is unknown', () => {
    expect(samplingParamsFromRequest({ logit_bias: { '5000': 1 } }, 16, null, limits(NONE, null)).logitBias).toEqual({ 5000: 1 });
    expect(() => samplingParamsFromRequest({ logit_bias: { '5000': 1 } }, 16, null, limits())).toThrow(
      'token_id(s) [5000] in logit_bias contain out-of-vocab token ids. Vocabulary size: 1000',
    );
  });

  it('passes allowed_token_ids through', () => {
    expect(samplingParamsFromRequest({ allowed_token_ids: [3, 4] }, 16, null, limits()).allowedTokenIds).toEqual([3, 4]);
  });
});

describe('samplingParamsFromRequest: generation-config defaults', () => {
  it('fill the fields a request leaves unset (null counts as unset); request values win', () => {
    const unset = samplingParamsFromRequest({ temperature: null }, 16, null, limits(QWEN));
    expect(unset.toJSON()).toEqual(new SamplingParams({ temperature: 0.6, topK: 20, topP: 0.95, repetitionPenalty: 1.05, maxTokens: 16 }).toJSON());
    const set = samplingParamsFromRequest({ temperature: 0, top_k: -1, top_p: 1, repetition_penalty: 1 }, 16, null, limits(QWEN));
    expect(set).toMatchObject({ temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 });
    expect(samplingParamsFromRequest({}, 16, null, limits()).toJSON()).toEqual(new SamplingParams({ maxTokens: 16 }).toJSON());
  });
});

describe('resolveMaxTokens (vLLM get_max_tokens)', () => {
  const budget = { promptTokens: 10, param: 'max_tokens', promptParam: 'messages' };
  it('request, else the default (the generation config max_new_tokens for chat), else the room left', () => {
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: 50, defaultMaxTokens: 64 }, 100)).toBe(50);
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: null, defaultMaxTokens: 64 }, 100)).toBe(64);
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: null, defaultMaxTokens: 64 }, 40)).toBe(30);
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: null, defaultMaxTokens: null }, 100)).toBe(90);
  });

  it('the override cap bounds explicit requests too', () => {
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: 50, defaultMaxTokens: null, maxTokensCap: 8 }, 100)).toBe(8);
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: null, defaultMaxTokens: null, maxTokensCap: 8 }, 100)).toBe(8);
    expect(resolveMaxTokens({ ...budget, requestedMaxTokens: 5, defaultMaxTokens: null, maxTokensCap: 8 }, 100)).toBe(5);
  });
});
