import { InvalidArgumentError, SamplingParams, VllmError } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { ApiError, ERROR_TABLE, logRequestError, toErrorResponse } from './errors.js';
import { build125Buckets } from './vllm-metrics.js';

describe('toErrorResponse', () => {
  it.each([
    ['invalid_prompt', 400, 'invalid_request_error'],
    ['prompt_too_long', 400, 'invalid_request_error'],
    ['duplicate_request_id', 400, 'invalid_request_error'],
    ['engine_closed', 503, 'service_unavailable_error'],
    ['engine_dead', 500, 'server_error'],
    ['internal', 500, 'server_error'],
  ])('maps the engine code %s to %i %s', (code, status, type) => {
    const r = toErrorResponse(new VllmError(code, 'what happened'));
    expect(r).toEqual({ status, body: { error: { message: 'what happened', type, param: null, code } } });
  });

  it('names the snake_case field of an InvalidArgumentError from SamplingParams', () => {
    let thrown: unknown;
    try {
      new SamplingParams({ stopTokenIds: [1, -2] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    const r = toErrorResponse(thrown);
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('stop_token_ids[1]');
  });

  it('keeps the param of an ApiError and treats plain errors as 500', () => {
    expect(toErrorResponse(new ApiError('model_not_found', 'no such model', 'model')).body.error).toMatchObject({ param: 'model', type: 'not_found_error' });
    expect(toErrorResponse(new Error('boom'))).toMatchObject({ status: 500, body: { error: { type: 'server_error', code: 'internal' } } });
  });

  it('has one entry per code, every status an HTTP error status', () => {
    for (const m of Object.values(ERROR_TABLE)) expect(m.status).toBeGreaterThanOrEqual(400);
  });
});

describe('build125Buckets', () => {
  it('gives 1-2-5 steps up to the limit', () => {
    expect(build125Buckets(4096)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
    expect(build125Buckets(1)).toEqual([1]);
  });
});

describe('logRequestError', () => {
  function recorder() {
    const lines: string[] = [];
    return {
      lines,
      log: {
        warn: (msg: string) => lines.push(`warn ${msg}`),
        error: (obj: object, msg: string) => lines.push(`error ${msg} ${'err' in obj ? 'with-stack' : ''}`),
      },
    };
  }

  it('gives an expected 503 one warning line, an unexpected failure its stack, and client errors nothing', () => {
    const r = recorder();
    logRequestError(r.log, 503, new Error('The model is still loading; retry shortly'));
    logRequestError(r.log, 500, new Error('boom'));
    logRequestError(r.log, 400, new Error('temperature must be a number >= 0'));
    expect(r.lines).toEqual(['warn request refused (503): The model is still loading; retry shortly', 'error request failed with-stack']);
  });
});
