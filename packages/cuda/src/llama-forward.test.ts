import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFixtureDir, modelReference, readLogits } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { argmaxReference } from './reference/sampling.js';
import { LlamaForward } from './llama-forward.js';
import type { LlamaConfig, LlamaHostWeights } from './llama-types.js';
import { cudaAvailable, gpuSuite } from './testing/gpu.js';
import { relativeError } from './testing/random.js';
import { readSafetensors } from './testing/safetensors.js';

interface HfConfig {
  hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number;
  num_key_value_heads: number; head_dim?: number; vocab_size: number; rms_norm_eps: number; max_position_embeddings: number;
  rope_parameters?: { rope_theta: number }; rope_theta?: number; model_type: string; tie_word_embeddings?: boolean;
}

function loadFixture(name: string): { config: LlamaConfig; weights: LlamaHostWeights } {
  const dir = modelFixtureDir(name);
  const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as HfConfig;
  const t = readSafetensors(join(dir, 'model.safetensors'));
  const get = (key: string) => {
    const tensor = t.get(key);
    if (!tensor) throw new Error(`${name}: missing ${key}`);
    return tensor.data;
  };
  const qkNorm = hf.model_type === 'qwen3';
  const config: LlamaConfig = {
    hiddenSize: hf.hidden_size, intermediateSize: hf.intermediate_size, numLayers: hf.num_hidden_layers,
    numHeads: hf.num_attention_heads, numKvHeads: hf.num_key_value_heads,
    headDim: hf.head_dim ?? hf.hidden_size / hf.num_attention_heads, vocabSize: hf.vocab_size, rmsNormEps: hf.rms_norm_eps,
    ropeTheta: hf.rope_parameters?.rope_theta ?? hf.rope_theta ?? 10000, maxPosition: hf.max_position_embeddings, qkNorm,
  };
  const layers = Array.from({ length: config.numLayers }, (_, l) => {
    const p = `model.layers.${l}.`;
    return {
      inputLayernorm: get(`${p}input_layernorm.weight`), postAttentionLayernorm: get(`${p}post_attention_layernorm.weight`),
      qProj: get(`${p}self_attn.q_proj.weight`), kProj: get(`${p}self_attn.k_proj.weight`), vProj: get(`${p}self_attn.v_proj.weight`),
      oProj: get(`${p}self_attn.o_proj.weight`), gateProj: get(`${p}mlp.gate_proj.weight`), upProj: get(`${p}mlp.up_proj.weight`),
      downProj: get(`${p}mlp.down_proj.weight`),
      ...(qkNorm ? { qNorm: get(`${p}self_attn.q_norm.weight`), kNorm: get(`${p}self_attn.k_norm.weight`) } : {}),
    };
  });
  const weights: LlamaHostWeights = {
    embedTokens: get('model.embed_tokens.weight'), layers, norm: get('model.norm.weight'),
    ...(hf.tie_word_embeddings ? {} : { lmHead: get('lm_head.weight') }),
  };
  return { config, weights };
}

interface PromptReference { prompt_ids: number[]; greedy_ids: number[]; min_top1_margin: number; last_logits_file: string }

describe.skipIf(!cudaAvailable)(gpuSuite('Llama-family forward on the fixture models'), () => {
  for (const name of ['tiny-llama', 'tiny-qwen3']) {
    it(`${name}: prompt logits within bf16 tolerance, greedy tokens equal where the margin exceeds the error`, () => {
      const { config, weights } = loadFixture(name);
      const ref = modelReference(name) as { prompts: PromptReference[] };
      const blockSize = 16;
      const maxBlocksPerSeq = 48;
      const fwd = LlamaForward.create(config, weights, {
        dtype: 'bfloat16', maxNumTokens: 700, maxNumSeqs: 1, numBlocks: maxBlocksPerSeq, blockSize, maxBlocksPerSeq,
      });
      try {
        const blockTables = Int32Array.from({ length: maxBlocksPerSeq }, (_, i) => maxBlocksPerSeq - 1 - i); // scrambled
        let totalCompared = 0;
        const slotOf = (pos: number) => blockTables[Math.floor(pos / blockSize)]! * blockSize + (pos % blockSize);
        for (const prompt of ref.prompts) {
          const ids = Int32Array.from(prompt.prompt_ids);
          const n = ids.length;
          const shape = fwd.prepare({
            tokenIds: ids, positions: Int32Array.from(ids, (_, i) => i), slotMapping: Int32Array.from(ids, (_, i) => slotOf(i)),
            blockTables, seqLens: Int32Array.of(n), queryStartLoc: Int32Array.of(0, n), logitsIndices: Int32Array.of(n - 1),
          });
          let logits = fwd.run(shape).toHost() as Float32Array;
          const expected = readLogits(name, prompt.last_logits_file);
          const err = relativeError(logits, expected);
          // bf16 weights and activations through every layer: a few bf16 roundings (2^-9 each) compound.
          expect(err, `${name} prompt of ${n}: relative error of the last logits`).toBeLessThan(3e-2);
          // Our error bound on a logit: twice the largest deviation seen on the prompt's logits. Where the
          // reference's smallest top-1 margin exceeds it, every greedy token must match; otherwise tokens
          // must match until our own top-2 margin falls under the bound (then both orders are plausible).
          let bound = 0;
          for (let i = 0; i < expected.length; i++) bound = Math.max(bound, 2 * Math.abs(logits[i]! - expected[i]!));
          const mustMatchAll = prompt.min_top1_margin > bound;
          let pos = n;
          let compared = 0;
          for (const want of prompt.greedy_ids) {
            const got = argmaxReference(logits, config.vocabSize)[0]!;
            const sorted = [...logits].sort((a, b) => b - a);
            if (!mustMatchAll && sorted[0]! - sorted[1]! < bound) break;
            expect(got, `${name} prompt of ${n}: greedy token ${compared}`).toBe(want);
            compared++;
            const step = fwd.prepare({
              tokenIds: Int32Array.of(got), positions: Int32Array.of(pos), slotMapping: Int32Array.of(slotOf(pos)),
              blockTables, seqLens: Int32Array.of(pos + 1), queryStartLoc: Int32Array.of(0, 1), logitsIndices: Int32Array.of(0),
            });
            logits = fwd.run(step).toHost() as Float32Array;
            pos++;
          }
          totalCompared += compared;
          console.log(
            `${name}: prompt of ${n} tokens, last-logits relative error ${err.toExponential(2)}, error bound ${bound.toFixed(3)}, ` +
              `reference min margin ${prompt.min_top1_margin.toFixed(3)}, ${compared}/24 greedy tokens compared, all equal`,
          );
        }
        expect(totalCompared, `${name}: greedy tokens compared over all prompts`).toBeGreaterThanOrEqual(12);
      } finally {
        fwd.free();
      }
    });
  }
});
