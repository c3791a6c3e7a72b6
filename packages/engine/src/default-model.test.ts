import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@vllm-ts/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLM, SamplingParams, defaultModelDir } from './index.js';
import type { ChatMessage, EngineVersion } from './index.js';

// The bundled model against tooling/train-default-model/export.py's reference.json: greedy tokens and
// first-step log-probabilities from Hugging Face transformers, float32 on the CPU, same weights.
interface ReferencePrompt {
  name: string;
  text?: string;
  messages?: ChatMessage[];
  prompt_ids: number[];
  greedy_ids: number[];
  min_top1_margin: number;
  last_logits: { top_ids: number[]; logsumexp: number; f32_base64: string };
}

interface Reference {
  vocab_size: number;
  greedy_tokens: number;
  prompts: ReferencePrompt[];
}

interface TokenizerReference {
  texts: { text: string; ids: number[]; decoded?: string }[];
}

const MODEL_DIR = defaultModelDir();
// Written by tooling/train-default-model/tokenizer_reference.py with HF tokenizers.
const TOKENIZER_REFERENCE = fileURLToPath(new URL('../../../tooling/train-default-model/results/tokenizer-reference.json', import.meta.url));
const REF = JSON.parse(readFileSync(join(MODEL_DIR, 'reference.json'), 'utf8')) as Reference;
// float32 CPU forward passes agree to about 1e-5 in log-probability; every greedy margin is over 10x this.
const LOGPROB_TOLERANCE = 1e-4;

function referenceLogits(p: ReferencePrompt): Float32Array {
  const bytes = Buffer.from(p.last_logits.f32_base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

describe('bundled default model', () => {
  it('fits the size budget and is a plain Llama with tied embeddings', () => {
    expect(statSync(join(MODEL_DIR, 'model.safetensors')).size).toBeLessThanOrEqual(12_000_000);
    const config = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architectures: ['LlamaForCausalLM'], tie_word_embeddings: true, vocab_size: REF.vocab_size });
    // Every reference greedy run stays clear of ties, so exact token equality is a fair check.
    for (const p of REF.prompts) expect(p.min_top1_margin).toBeGreaterThan(10 * LOGPROB_TOLERANCE);
  });

  it('encodes held-out verses, chat turns and edge cases as Hugging Face tokenizers does', async () => {
    const tokenizer = await Tokenizer.fromDirectory(MODEL_DIR);
    const ref = JSON.parse(readFileSync(TOKENIZER_REFERENCE, 'utf8')) as TokenizerReference;
    expect(ref.texts.length).toBeGreaterThan(150);
    for (const line of ref.texts) {
      expect(tokenizer.encode(line.text, { addSpecialTokens: false }), JSON.stringify(line.text.slice(0, 60))).toEqual(line.ids);
      expect(tokenizer.decode(line.ids)).toBe(line.decoded ?? line.text);
    }
  });

  describe.each<EngineVersion>(['v1', 'v0'])('engine %s on the CPU, created with no model', (engineVersion) => {
    let llm: LLM;
    beforeAll(async () => {
      llm = await LLM.create({ device: 'cpu', engineVersion });
    });
    afterAll(async () => {
      await llm.close();
    });

    it('reproduces the greedy continuations of every reference prompt', async () => {
      const params = new SamplingParams({ temperature: 0, maxTokens: REF.greedy_tokens, ignoreEos: true });
      const outputs = await llm.generate(
        REF.prompts.map((p) => ({ promptTokenIds: p.prompt_ids })),
        params,
      );
      expect(outputs.map((o) => o.outputs[0]!.tokenIds)).toEqual(REF.prompts.map((p) => p.greedy_ids));
    });

    it('matches the first-step log-probabilities', async () => {
      const params = new SamplingParams({ temperature: 0, maxTokens: 1, ignoreEos: true, logprobs: 10 });
      const outputs = await llm.generate(
        REF.prompts.map((p) => ({ promptTokenIds: p.prompt_ids })),
        params,
      );
      outputs.forEach((o, i) => {
        const p = REF.prompts[i]!;
        const logits = referenceLogits(p);
        expect(logits.length).toBe(REF.vocab_size);
        const first = o.outputs[0]!.logprobs![0]!;
        expect(first.chosen.tokenId).toBe(p.last_logits.top_ids[0]);
        expect(first.top.length).toBe(10);
        for (const entry of first.top) {
          expect(Math.abs(entry.logprob - (logits[entry.tokenId]! - p.last_logits.logsumexp))).toBeLessThan(LOGPROB_TOLERANCE);
        }
      });
    });

    it('tokenizes the text prompts and renders the chat template as transformers does', async () => {
      const greedy = new SamplingParams({ temperature: 0, maxTokens: 4, ignoreEos: true });
      for (const p of REF.prompts) {
        const [out] = p.messages ? await llm.chat(p.messages, greedy) : await llm.generate(p.text!, greedy);
        expect(out!.promptTokenIds, p.name).toEqual(p.prompt_ids);
        expect(out!.outputs[0]!.tokenIds, p.name).toEqual(p.greedy_ids.slice(0, 4));
      }
    });
  });
});
