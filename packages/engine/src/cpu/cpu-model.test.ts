import { MODEL_FIXTURES, modelFixtureDir, modelReference, readLogits } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { dummyWeights, loadModelWeights, type ModelWeights } from '../loader/model-weights.js';
import { parseModelConfig, readModelConfig, type ModelConfig } from '../model/model-config.js';
import { ropeInverseFrequencies } from '../model/rope-config.js';
import { CpuModel, type ForwardBatch } from './cpu-model.js';
import { PagedKVCache } from './paged-kv-cache.js';

interface Prompt {
  prompt_ids: number[];
  last_logits_file: string;
}

function relativeError(out: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** One whole prompt in one batch, its blocks deliberately out of order and sparse (..., 6, 4, 2). */
function prefillBatch(ids: number[], blockSize: number, blocks: number[]): ForwardBatch {
  const n = ids.length;
  const slot = (p: number): number => blocks[Math.floor(p / blockSize)]! * blockSize + (p % blockSize);
  return {
    numTokens: n,
    tokenIds: Int32Array.from(ids),
    positions: Int32Array.from(ids, (_, p) => p),
    slotMapping: Int32Array.from(ids, (_, p) => slot(p)),
    tokenSeq: new Int32Array(n),
    blockTables: Int32Array.from(blocks),
    maxBlocksPerSeq: blocks.length,
    logitsRows: Int32Array.of(n - 1),
    numLogitsRows: 1,
  };
}

const CASES = MODEL_FIXTURES.flatMap((name) => (['js', 'wasm-simd'] as const).map((kernel) => [name, kernel] as const));

describe.each(CASES)('CpuModel on %s, %s kernel', (name, kernel) => {
  const dir = modelFixtureDir(name);
  const config = readModelConfig(dir);
  const model = new CpuModel(config, loadModelWeights(dir, config), { kernel });
  it('uses the kernel asked for', () => expect(model.kernel).toBe(kernel));
  const ref = modelReference(name) as { prompts: Prompt[] };

  it.each(ref.prompts.map((p, i) => [i, p] as const))('prompt %i: last-position logits within 1e-4 relative', (_, prompt) => {
    const blockSize = 16;
    const numBlocks = Math.ceil(prompt.prompt_ids.length / blockSize);
    const cache = new PagedKVCache({ numLayers: config.numLayers, numBlocks: numBlocks * 2 + 1, blockSize, numKvHeads: config.numKvHeads, headDim: config.headDim });
    const blocks = Array.from({ length: numBlocks }, (_, i) => 2 * (numBlocks - i));
    const logits = model.forward(prefillBatch(prompt.prompt_ids, blockSize, blocks), cache);
    const expected = readLogits(name, prompt.last_logits_file);
    expect(logits.length).toBe(expected.length);
    expect(relativeError(logits, expected)).toBeLessThan(1e-4);
  });

  it('prompt 4 prefilled in chunks of 100 (each chunk reading the cached ones) gives the same logits', () => {
    const prompt = ref.prompts[4]!;
    const ids = prompt.prompt_ids;
    const cache = new PagedKVCache({ numLayers: config.numLayers, numBlocks: 40, blockSize: 8, numKvHeads: config.numKvHeads, headDim: config.headDim });
    const blocks = Array.from({ length: Math.ceil(ids.length / 8) }, (_, i) => 39 - i);
    const full = prefillBatch(ids, 8, blocks);
    let logits = new Float32Array(0);
    for (let start = 0; start < ids.length; start += 100) {
      const end = Math.min(start + 100, ids.length);
      const sl = (a: Int32Array): Int32Array => a.slice(start, end);
      logits = model.forward(
        { ...full, numTokens: end - start, tokenIds: sl(full.tokenIds), positions: sl(full.positions), slotMapping: sl(full.slotMapping), tokenSeq: sl(full.tokenSeq), logitsRows: Int32Array.of(end - start - 1) },
        cache,
      ).slice();
    }
    expect(relativeError(logits, readLogits(name, prompt.last_logits_file))).toBeLessThan(1e-4);
  });
});

/** A dense, unpaged, one-token-at-a-time decoder written straight from the formulas. */
function naiveLastLogits(c: ModelConfig, w: ModelWeights, ids: number[]): Float64Array {
  const H = c.hiddenSize, D = c.headDim, nH = c.numHeads, nKV = c.numKvHeads, I = c.intermediateSize;
  const { invFreq } = ropeInverseFrequencies(c.rope);
  const norm = (x: number[], g: Float32Array): number[] => {
    const r = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + c.rmsNormEps);
    return x.map((v, i) => v * r * g[i]!);
  };
  const mat = (W: Float32Array, x: number[], rows: number, off = 0, bias: Float32Array | null = null, boff = 0): number[] =>
    Array.from({ length: rows }, (_, o) => x.reduce((a, v, i) => a + v * W[(off + o) * x.length + i]!, bias ? bias[boff + o]! : 0));
  const rope = (v: number[], p: number): number[] => {
    const out = [...v];
    for (let i = 0; i < D / 2; i++) {
      const cs = Math.cos(p * invFreq[i]!), sn = Math.sin(p * invFreq[i]!);
      out[i] = v[i]! * cs - v[i + D / 2]! * sn;
      out[i + D / 2] = v[i + D / 2]! * cs + v[i]! * sn;
    }
    return out;
  };
  const keys: number[][][][] = w.layers.map(() => []);
  const vals: number[][][][] = w.layers.map(() => []);
  let x: number[] = [];
  ids.forEach((id, p) => {
    x = Array.from(w.embed.subarray(id * H, id * H + H));
    w.layers.forEach((L, l) => {
      const h = norm(x, L.inputNorm);
      const qs = Array.from({ length: nH }, (_, k) => rope(mat(L.qkv, h, D, k * D, L.qkvBias, k * D), p));
      keys[l]!.push(Array.from({ length: nKV }, (_, k) => rope(mat(L.qkv, h, D, nH * D + k * D, L.qkvBias, nH * D + k * D), p)));
      vals[l]!.push(Array.from({ length: nKV }, (_, k) => mat(L.qkv, h, D, (nH + nKV) * D + k * D, L.qkvBias, (nH + nKV) * D + k * D)));
      const attn: number[] = [];
      qs.forEach((q, k) => {
        const kv = Math.floor(k / (nH / nKV));
        const sc = keys[l]!.map((ks) => ks[kv]!.reduce((a, v, i) => a + v * q[i]!, 0) / Math.sqrt(D));
        const m = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < D; i++) attn.push(e.reduce((a, pj, j) => a + (pj / z) * vals[l]![j]![kv]![i]!, 0));
      });
      x = x.map((v, i) => v + mat(L.o, attn, H)[i]!);
      const h2 = norm(x, L.postNorm);
      const gu = mat(L.gateUp, h2, 2 * I, 0, L.gateUpBias);
      const act = Array.from({ length: I }, (_, i) => (gu[i]! / (1 + Math.exp(-gu[i]!))) * gu[I + i]!);
      const down = mat(L.down, act, H, 0, L.downBias);
      x = x.map((v, i) => v + down[i]!);
    });
  });
  return Float64Array.from(mat(w.lmHead, norm(x, w.norm), c.vocabSize));
}

describe('CpuModel against a naive dense decoder (dummy weights)', () => {
  it.each([
    ['MQA Mistral, untied, mlp bias, linear RoPE', { architectures: ['MistralForCausalLM'], num_key_value_heads: 1, mlp_bias: true, rope_scaling: { type: 'linear', factor: 2 } }],
    ['Llama with attention bias and llama3 RoPE', { attention_bias: true, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, original_max_position_embeddings: 16 } }],
  ])('%s', (_, extra) => {
    const config = parseModelConfig({
      architectures: ['LlamaForCausalLM'], hidden_size: 48, intermediate_size: 80, num_attention_heads: 6, num_key_value_heads: 2,
      num_hidden_layers: 2, vocab_size: 97, max_position_embeddings: 64, torch_dtype: 'float32', ...extra,
    });
    const weights = dummyWeights(config, 3);
    const ids = [5, 17, 90, 3, 3, 44, 61, 2, 8, 77, 12];
    const cache = new PagedKVCache({ numLayers: 2, numBlocks: 8, blockSize: 2, numKvHeads: config.numKvHeads, headDim: config.headDim });
    const got = new CpuModel(config, weights).forward(prefillBatch(ids, 2, [7, 1, 5, 3, 0, 6]), cache);
    const want = naiveLastLogits(config, weights, ids);
    let num = 0, den = 0;
    want.forEach((v, i) => { num += (got[i]! - v) ** 2; den += v * v; });
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
  });
});
