import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SamplingParams } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { defaultSamplingParams, resolveGenerationDefaults } from './generation-defaults.js';

function folder(config: Record<string, unknown> | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'vllm-ts-gencfg-'));
  if (config !== null) writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(config));
  return dir;
}

const QWEN3_LIKE = { bos_token_id: 1, eos_token_id: [2, 3], do_sample: true, temperature: 0.6, top_k: 20, top_p: 0.95, max_new_tokens: 64 };

describe('resolveGenerationDefaults (vLLM get_diff_sampling_param)', () => {
  it('auto: the model folder file, sampling keys only, max_new_tokens as maxTokens, no cap', () => {
    const d = resolveGenerationDefaults('auto', {}, folder(QWEN3_LIKE));
    expect(d).toEqual({ source: 'model', params: { temperature: 0.6, topK: 20, topP: 0.95, maxTokens: 64 }, maxTokensCap: null });
    expect(Object.isFrozen(d.params)).toBe(true);
  });

  it('drops values equal to the Hugging Face defaults (to_diff_dict), and nulls', () => {
    const d = resolveGenerationDefaults('auto', {}, folder({ temperature: 1.0, top_k: 50, top_p: 1.0, repetition_penalty: 1.0, min_p: null, max_new_tokens: null }));
    expect(d.params).toEqual({});
    expect(resolveGenerationDefaults('auto', {}, folder({ top_k: 40, repetition_penalty: 1.1, min_p: 0 })).params).toEqual({
      topK: 40,
      repetitionPenalty: 1.1,
      minP: 0,
    });
  });

  it('no file, or vllm: no defaults', () => {
    expect(resolveGenerationDefaults('auto', {}, folder(null))).toEqual({ source: 'model', params: {}, maxTokensCap: null });
    expect(resolveGenerationDefaults('vllm', {}, folder(QWEN3_LIKE))).toEqual({ source: 'vllm', params: {}, maxTokensCap: null });
  });

  it('override: merged over the file (auto), alone (vllm); its max_new_tokens caps every request', () => {
    const dir = folder(QWEN3_LIKE);
    expect(resolveGenerationDefaults('auto', { temperature: 0.2, top_k: 50 }, dir).params).toEqual({ temperature: 0.2, topK: 50, topP: 0.95, maxTokens: 64 });
    expect(resolveGenerationDefaults('vllm', { top_p: 0.5, max_new_tokens: 8 }, dir)).toEqual({
      source: 'vllm',
      params: { topP: 0.5, maxTokens: 8 },
      maxTokensCap: 8,
    });
    expect(resolveGenerationDefaults('auto', { max_new_tokens: 10 }, dir).maxTokensCap).toBe(10);
  });

  it('a folder given as generationConfig: its max_new_tokens is also the cap', () => {
    const other = folder({ temperature: 0.3, max_new_tokens: 12 });
    expect(resolveGenerationDefaults(other, {}, folder(QWEN3_LIKE))).toEqual({ source: other, params: { temperature: 0.3, maxTokens: 12 }, maxTokensCap: 12 });
  });

  it('refuses invalid values, naming the key and the source', () => {
    expect(() => resolveGenerationDefaults('auto', {}, folder({ temperature: -1 }))).toThrow(
      'the generation config (model) sets temperature to -1; expected a finite number >= 0',
    );
    expect(() => resolveGenerationDefaults('auto', { top_p: 'high' }, folder(null))).toThrow(
      'EngineArgs.overrideGenerationConfig.top_p must be a number in (0, 1] (got "high")',
    );
    expect(() => resolveGenerationDefaults('vllm', { max_new_tokens: 0 }, folder(null))).toThrow(/overrideGenerationConfig\.max_new_tokens/);
  });

  it('defaultSamplingParams: the defaults over SamplingParams own (maxTokens 16 unless set)', () => {
    expect(defaultSamplingParams(resolveGenerationDefaults('vllm', {}, folder(null)))).toEqual(new SamplingParams());
    const p = defaultSamplingParams(resolveGenerationDefaults('auto', {}, folder({ temperature: 0.6, top_k: -1 })));
    expect(p.toJSON()).toEqual(new SamplingParams({ temperature: 0.6 }).toJSON());
    expect(defaultSamplingParams(resolveGenerationDefaults('auto', {}, folder(QWEN3_LIKE))).maxTokens).toBe(64);
  });
});
