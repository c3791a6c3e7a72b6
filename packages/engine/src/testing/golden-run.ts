/**
 * Shared by the engine's golden tests (not part of the package): runs every fixture prompt of a model
 * through `LLM.generate` and returns the greedy tokens.
 * @internal
 */
import { expect } from 'vitest';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM, SamplingParams } from '../index.js';
import type { EngineArgs } from '../index.js';

/** A fixture model's reference.json (greedy tokens from Hugging Face transformers, float64). */
export interface Reference {
  prompts: { prompt_ids: number[]; greedy_ids: number[] }[];
}

/** Greedy decoding of the references' 24 tokens. */
export const GREEDY = new SamplingParams({ temperature: 0, maxTokens: 24, ignoreEos: true });

/**
 * All prompts at once (then, with `rounds` 2, again: the second round reads the first's prefix cache and
 * must give the same tokens).
 * @param name fixture model
 * @param args engine options on top of a small cache and maxModelLen 640
 * @param rounds 1 or 2
 */
export async function generateAll(name: string, args: EngineArgs, rounds = 2): Promise<{ tokens: number[][]; cached: number[] }> {
  const ref = modelReference(name) as Reference;
  const llm = await LLM.create({ model: modelFixtureDir(name), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, ...args });
  try {
    const prompts = ref.prompts.map((p) => ({ promptTokenIds: p.prompt_ids }));
    const first = await llm.generate(prompts, GREEDY);
    const second = rounds === 2 ? await llm.generate(prompts, GREEDY) : first;
    expect(second.map((o) => o.outputs[0]!.tokenIds)).toEqual(first.map((o) => o.outputs[0]!.tokenIds));
    return { tokens: first.map((o) => [...o.outputs[0]!.tokenIds]), cached: second.map((o) => o.numCachedTokens) };
  } finally {
    await llm.close();
  }
}

/**
 * The reference greedy tokens of every prompt of a fixture model.
 * @param name fixture model
 */
export const expected = (name: string): number[][] => (modelReference(name) as Reference).prompts.map((p) => p.greedy_ids);
