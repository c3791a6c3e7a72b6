import { modelFixtureDir } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { parseModelConfig, readModelConfig, SUPPORTED_ARCHITECTURES } from './model-config.js';
import { parseRopeConfig, ropeInverseFrequencies } from './rope-config.js';

const LLAMA31 = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 4096,
  intermediate_size: 14336,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  num_hidden_layers: 32,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  torch_dtype: 'bfloat16',
  eos_token_id: [128001, 128008, 128009],
  bos_token_id: 128000,
};

describe('readModelConfig', () => {
  it('reads the fixtures: GQA, head_dim, tied embeddings, qkv bias, q/k norm, extra EOS ids', () => {
    const llama = readModelConfig(modelFixtureDir('tiny-llama'));
    expect(llama).toMatchObject({ architecture: 'LlamaForCausalLM', numHeads: 4, numKvHeads: 2, headDim: 16, tieWordEmbeddings: false, attentionBias: false, qkNorm: false, dtype: 'bfloat16', maxModelLen: 2048, eosTokenIds: [2] });
    const qwen2 = readModelConfig(modelFixtureDir('tiny-qwen2'));
    expect(qwen2).toMatchObject({ headDim: 8, tieWordEmbeddings: true, attentionBias: true, dtype: 'float16', eosTokenIds: [50258, 50256] });
    expect(qwen2.rope).toMatchObject({ type: 'default', theta: 1e6, rotaryDim: 8 });
    const qwen3 = readModelConfig(modelFixtureDir('tiny-qwen3'));
    expect(qwen3).toMatchObject({ headDim: 32, hiddenSize: 64, qkNorm: true, attentionBias: false });
  });

  it('reads the older rope_theta + rope_scaling keys (Llama 3.1)', () => {
    const c = parseModelConfig(LLAMA31);
    expect(c.rope).toMatchObject({ type: 'llama3', theta: 500000, factor: 8, originalMaxPositionEmbeddings: 8192, lowFreqFactor: 1, highFreqFactor: 4 });
    expect(c.maxModelLen).toBe(131072);
    expect(c.headDim).toBe(128);
    expect(c.eosTokenIds).toEqual([128001, 128008, 128009]);
  });

  it('MQA (one kv head) and Mistral are accepted; a bad head split is refused', () => {
    const mqa = parseModelConfig({ ...LLAMA31, architectures: ['MistralForCausalLM'], num_key_value_heads: 1, rope_scaling: null });
    expect(mqa).toMatchObject({ architecture: 'MistralForCausalLM', numKvHeads: 1 });
    expect(() => parseModelConfig({ ...LLAMA31, num_key_value_heads: 5 })).toThrow(/multiple of num_key_value_heads \(5\)/);
  });

  it('caps maxModelLen at an active sliding window (not implemented), ignores a disabled one', () => {
    const mistral = { ...LLAMA31, architectures: ['MistralForCausalLM'], rope_scaling: null, max_position_embeddings: 32768, sliding_window: 4096 };
    expect(parseModelConfig(mistral).maxModelLen).toBe(4096);
    expect(() => parseModelConfig(mistral, {}, { maxModelLen: 8192 })).toThrow(/\[1, 4096\]/);
    expect(parseModelConfig({ ...mistral, use_sliding_window: false }).maxModelLen).toBe(32768);
    expect(parseModelConfig({ ...mistral, sliding_window: null }).maxModelLen).toBe(32768);
  });

  it('refuses another architecture, listing the supported ones', () => {
    let error: unknown;
    try {
      parseModelConfig({ ...LLAMA31, architectures: ['GPT2LMHeadModel'] });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'unsupported_model' });
    for (const a of SUPPORTED_ARCHITECTURES) expect((error as Error).message).toContain(a);
    expect(() => parseModelConfig({ ...LLAMA31, rope_scaling: { rope_type: 'longrope', factor: 2 } })).toThrow(/rope type must be one of/);
  });

  it('maxModelLen: override within the context, scaled by linear/dynamic/yarn factors, refused beyond', () => {
    expect(parseModelConfig(LLAMA31, {}, { maxModelLen: 4096 }).maxModelLen).toBe(4096);
    expect(() => parseModelConfig(LLAMA31, {}, { maxModelLen: 200000 })).toThrow(/maxModelLen must be an integer in \[1, 131072\]/);
    const linear = parseModelConfig({ ...LLAMA31, max_position_embeddings: 4096, rope_scaling: { type: 'linear', factor: 2 } });
    expect(linear.maxModelLen).toBe(8192);
    const yarn = parseModelConfig({ ...LLAMA31, rope_parameters: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768, rope_theta: 1e6 } });
    expect(yarn.maxModelLen).toBe(131072);
    expect(parseModelConfig(LLAMA31, {}, { dtype: 'float32' }).dtype).toBe('float32');
  });
});

describe('RoPE inverse frequencies', () => {
  const base = { hidden_size: 64, num_attention_heads: 1 };
  const freqs = (cfg: Record<string, unknown>): Float64Array => ropeInverseFrequencies(parseRopeConfig({ ...base, ...cfg }, 64, 4096)).invFreq;
  const plain = freqs({ rope_theta: 10000 });

  it('default: theta^(-2i/d)', () => {
    expect(plain[0]).toBe(1);
    expect(plain[1]).toBeCloseTo(10000 ** (-2 / 64), 15);
  });

  it('linear divides every frequency by the factor', () => {
    const f = freqs({ rope_theta: 10000, rope_scaling: { type: 'linear', factor: 4 } });
    f.forEach((x, i) => expect(x).toBeCloseTo(plain[i]! / 4, 15));
  });

  it('llama3 keeps high frequencies, divides low ones by the factor, blends in between', () => {
    const f = freqs({ rope_theta: 10000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 1024 } });
    const wavelen = (i: number): number => (2 * Math.PI) / plain[i]!;
    for (let i = 0; i < plain.length; i++) {
      if (wavelen(i) < 1024 / 4) expect(f[i]).toBe(plain[i]);
      else if (wavelen(i) > 1024) expect(f[i]).toBeCloseTo(plain[i]! / 8, 15);
      else expect(f[i]! > plain[i]! / 8 && f[i]! < plain[i]!).toBe(true);
    }
  });

  it('yarn: unchanged below the ramp, interpolated above it, scaled by 0.1 ln(factor) + 1', () => {
    const { invFreq, scale } = ropeInverseFrequencies(parseRopeConfig({ rope_parameters: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 2048, rope_theta: 10000 } }, 64, 8192));
    expect(scale).toBeCloseTo(0.1 * Math.log(4) + 1, 15);
    expect(invFreq[0]).toBe(plain[0]);
    expect(invFreq[31]).toBeCloseTo(plain[31]! / 4, 15);
  });

  it('dynamic: a larger base, fixed once (vLLM form)', () => {
    const f = freqs({ rope_theta: 10000, rope_scaling: { type: 'dynamic', factor: 2 } });
    const b = 10000 * (2 * 2 - 1) ** (64 / 62);
    expect(f[1]).toBeCloseTo(b ** (-2 / 64), 15);
  });
});
