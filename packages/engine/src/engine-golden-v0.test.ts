import { describe, expect, it } from 'vitest';
import { MODEL_FIXTURES } from '@vllm-ts/fixtures';
import { expected, generateAll } from './testing/golden-run.js';

// Greedy tokens from Hugging Face transformers (float64) for every fixture model through the V0 engine
// (one loop in this thread, prefill-first steps unless chunked prefill is on).

// NOTE: generous timeouts: each test loads a model and, for V1, starts a worker on a possibly busy machine.
describe.each(MODEL_FIXTURES)('golden greedy tokens of %s (V0)', (name) => {
  it('prefix caching off, prefill-first steps, all prompts at once', async () => {
    const { tokens, cached } = await generateAll(name, { engineVersion: 'v0' }, 1);
    expect(tokens).toEqual(expected(name));
    expect(cached.every((c) => c === 0)).toBe(true);
  }, 90_000);
});

describe('golden greedy tokens (V0) under other settings', () => {
  it('chunked prefill, prefix caching on and 16 tokens (one block) per step', async () => {
    const { tokens, cached } = await generateAll('tiny-llama', {
      engineVersion: 'v0',
      enableChunkedPrefill: true,
      enablePrefixCaching: true,
      maxNumBatchedTokens: 16,
    });
    expect(tokens).toEqual(expected('tiny-llama'));
    // V0's prefix cache also serves whole blocks only, the last prompt token always recomputed.
    expect(cached).toEqual([0, 0, 32, 96, 256, 592]);
  }, 90_000);
});
