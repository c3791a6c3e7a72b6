import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, VllmError } from './errors.js';
import { SamplingParams, resolveSamplingParams } from './sampling-params.js';

function errorOf(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (e) {
    expect(VllmError.isInstance(e)).toBe(true);
    return e as InvalidArgumentError;
  }
  throw new Error('expected a throw');
}

describe('SamplingParams', () => {
  it('takes vLLM defaults', () => {
    const p = new SamplingParams();
    expect(p.toJSON()).toMatchInlineSnapshot(`
      {
        "allowedTokenIds": null,
        "frequencyPenalty": 0,
        "ignoreEos": false,
        "includeStopStrInOutput": false,
        "logitBias": null,
        "logprobs": null,
        "maxTokens": 16,
        "minP": 0,
        "minTokens": 0,
        "n": 1,
        "presencePenalty": 0,
        "promptLogprobs": null,
        "repetitionPenalty": 1,
        "seed": null,
        "skipSpecialTokens": true,
        "stop": [],
        "stopTokenIds": [],
        "temperature": 1,
        "topK": 0,
        "topP": 1,
      }
    `);
    expect(p.isGreedy).toBe(false);
    expect(new SamplingParams({ temperature: 0 }).isGreedy).toBe(true);
  });

  it('is frozen and survives structuredClone as plain data', () => {
    const p = new SamplingParams({ stop: 'END', seed: 7 });
    expect(Object.isFrozen(p)).toBe(true);
    expect(p.stop).toEqual(['END']);
    const clone = structuredClone(p.toJSON());
    expect(resolveSamplingParams(clone)).toEqual(p.toJSON());
  });

  it('normalises topK -1 to 0 (disabled)', () => {
    expect(new SamplingParams({ topK: -1 }).topK).toBe(0);
  });

  // Each row: field, a value just outside its range, and the expected words of the message.
  const invalid: [string, unknown, string][] = [
    ['n', 0, 'an integer in [1, 1024]'],
    ['n', 1.5, 'an integer in [1, 1024]'],
    ['temperature', -0.1, 'a finite number >= 0'],
    ['temperature', Infinity, 'a finite number >= 0'],
    ['temperature', Number.NaN, 'a finite number >= 0'],
    ['topP', 0, 'a number in (0, 1]'],
    ['topP', 1.01, 'a number in (0, 1]'],
    ['topK', -2, 'an integer >= 1, or 0 or -1 to disable'],
    ['topK', 2.5, 'an integer >= 1, or 0 or -1 to disable'],
    ['minP', -0.01, 'a number in [0, 1]'],
    ['minP', 1.01, 'a number in [0, 1]'],
    ['seed', 0.5, 'an integer (a safe 64-bit value) or null'],
    ['maxTokens', 0, 'an integer >= 1, or null'],
    ['minTokens', -1, 'an integer >= 0'],
    ['presencePenalty', 2.5, 'a number in [-2, 2]'],
    ['presencePenalty', -2.5, 'a number in [-2, 2]'],
    ['frequencyPenalty', 3, 'a number in [-2, 2]'],
    ['repetitionPenalty', 0, 'a finite number > 0'],
    ['logprobs', -1, 'an integer >= 0, or null'],
    ['promptLogprobs', 1.5, 'an integer >= 0, or null'],
    ['ignoreEos', 'yes', 'a boolean'],
    ['skipSpecialTokens', 1, 'a boolean'],
    ['includeStopStrInOutput', null, 'a boolean'],
    ['stop', 5, 'a string or an array of strings'],
    ['stopTokenIds', 3, 'an array of token ids (integers >= 0)'],
  ];
  it.each(invalid)('refuses %s = %s', (field, value, expected) => {
    const e = errorOf(() => new SamplingParams({ [field]: value } as never));
    expect(e.code).toBe('invalid_sampling_params');
    expect(e.field).toBe(field);
    expect(e.expected).toBe(expected);
    expect(e.message).toContain(`SamplingParams.${field} must be ${expected}`);
  });

  it('accepts each boundary value', () => {
    expect(() =>
      new SamplingParams({
        n: 1024,
        temperature: 0,
        topP: 1,
        topK: 1,
        minP: 1,
        presencePenalty: -2,
        frequencyPenalty: 2,
        repetitionPenalty: 0.01,
        maxTokens: 1,
        minTokens: 1,
        logprobs: 0,
        promptLogprobs: 0,
        seed: -1,
      }),
    ).not.toThrow();
  });

  it('names the element of an array field', () => {
    expect(errorOf(() => new SamplingParams({ stop: ['ok', ''] })).message).toBe(
      'SamplingParams.stop[1] must be a non-empty string (got "")',
    );
    expect(errorOf(() => new SamplingParams({ stopTokenIds: [1, -3] })).field).toBe('stopTokenIds[1]');
  });

  it('refuses minTokens above maxTokens with both numbers', () => {
    expect(errorOf(() => new SamplingParams({ minTokens: 10, maxTokens: 5 })).message).toBe(
      'SamplingParams.minTokens must be an integer <= maxTokens (5) (got 10)',
    );
  });

  it('refuses unknown fields with a did-you-mean', () => {
    const e = errorOf(() => new SamplingParams({ max_tokens: 5 } as never));
    expect(e.message).toBe('SamplingParams.max_tokens must be a known field (got 5). Did you mean "maxTokens"?');
  });

  it('with() revalidates', () => {
    const p = new SamplingParams({ temperature: 0.5 });
    expect(p.with({ maxTokens: 3 }).maxTokens).toBe(3);
    expect(() => p.with({ temperature: -1 })).toThrow(/temperature/);
  });

  describe('logitBias and allowedTokenIds', () => {
    it('accepts an object with digit-string keys or a Map, stores one frozen plain object', () => {
      const fromObject = new SamplingParams({ logitBias: { '5': 10, 7: -100 } });
      const fromMap = new SamplingParams({ logitBias: new Map([[5, 10], [7, -100]]) });
      expect(fromObject.logitBias).toEqual({ 5: 10, 7: -100 });
      expect(fromMap.logitBias).toEqual(fromObject.logitBias);
      expect(Object.isFrozen(fromMap.logitBias)).toBe(true);
      expect(resolveSamplingParams(structuredClone(fromMap.toJSON()))).toEqual(fromMap.toJSON());
      expect(JSON.parse(JSON.stringify(fromMap)).logitBias).toEqual({ 5: 10, 7: -100 });
      expect(new SamplingParams().logitBias).toBeNull();
      expect(new SamplingParams({ logitBias: { 1: 100, 2: -100 } }).logitBias).toEqual({ 1: 100, 2: -100 });
    });

    it('refuses bad token ids, non-numeric and out-of-range biases, naming the entry', () => {
      expect(errorOf(() => new SamplingParams({ logitBias: { abc: 1 } })).message).toBe(
        'SamplingParams.logitBias must be keyed by token ids (integers >= 0, or their decimal strings) (got "abc")',
      );
      expect(errorOf(() => new SamplingParams({ logitBias: { '-3': 1 } })).received).toBe('-3');
      expect(errorOf(() => new SamplingParams({ logitBias: { '05': 1 } })).received).toBe('05');
      expect(errorOf(() => new SamplingParams({ logitBias: new Map([[1.5, 1]]) })).received).toBe(1.5);
      expect(errorOf(() => new SamplingParams({ logitBias: { 5: 'high' } as never })).message).toBe(
        'SamplingParams.logitBias[5] must be a number in [-100, 100] (got "high")',
      );
      expect(errorOf(() => new SamplingParams({ logitBias: { 5: 100.5 } })).field).toBe('logitBias[5]');
      expect(errorOf(() => new SamplingParams({ logitBias: { 5: -101 } })).field).toBe('logitBias[5]');
      expect(errorOf(() => new SamplingParams({ logitBias: { 5: Number.NaN } })).field).toBe('logitBias[5]');
      expect(errorOf(() => new SamplingParams({ logitBias: [1, 2] as never })).field).toBe('logitBias');
      expect(errorOf(() => new SamplingParams({ logitBias: new Map<unknown, number>([[5, 1], ['5', 2]]) as never })).field).toBe(
        'logitBias[5]',
      );
    });

    it('allowedTokenIds: a non-empty list of token ids, deduplicated', () => {
      expect(new SamplingParams({ allowedTokenIds: [3, 1, 3] }).allowedTokenIds).toEqual([3, 1]);
      expect(new SamplingParams().allowedTokenIds).toBeNull();
      expect(errorOf(() => new SamplingParams({ allowedTokenIds: [] })).message).toBe(
        'SamplingParams.allowedTokenIds must be a non-empty array of token ids, or null (got [])',
      );
      expect(errorOf(() => new SamplingParams({ allowedTokenIds: [1, -1] })).field).toBe('allowedTokenIds[1]');
    });
  });
});
