import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { LLM, LLMEngine, SamplingParams } from './index.js';
import type { EngineArgs, RequestOutput } from './index.js';

const MODEL = 'tiny-qwen2';
const base: EngineArgs = { model: modelFixtureDir(MODEL), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22 };
const ref = modelReference(MODEL) as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
const text = (o: RequestOutput, i = 0) => o.outputs[i]!.text;

describe('LLM (V1, worker thread)', () => {
  let llm: LLM;
  beforeAll(async () => {
    llm = await LLM.create({ ...base, engineVersion: 'v1' });
  });
  afterAll(() => llm.close());

  it('cuts generation at a stop string that spans a token boundary', async () => {
    const prompt = { promptTokenIds: ref.prompts[2]!.prompt_ids };
    const [full] = await llm.generate(prompt, { temperature: 0, maxTokens: 24, ignoreEos: true });
    const tokens = full!.outputs[0]!.tokenIds;
    const whole = text(full!);
    expect(whole).toBe(llm.tokenizer.decode(tokens, { skipSpecialTokens: true }));
    // A stop string made of the last 2 characters of token k's text and the first 2 of token k+1's.
    let stop = '';
    for (let k = 3; k < tokens.length - 2 && stop === ''; k++) {
      const a = llm.tokenizer.decode(tokens.slice(0, k + 1)).length;
      const b = llm.tokenizer.decode(tokens.slice(0, k + 2)).length;
      const prev = llm.tokenizer.decode(tokens.slice(0, k)).length;
      if (a - prev >= 2 && b - a >= 2 && whole.slice(a - 2, a + 2).trim().length === 4) stop = whole.slice(a - 2, a + 2);
    }
    expect(stop).toHaveLength(4);
    const at = whole.indexOf(stop);
    const [cut] = await llm.generate(prompt, { temperature: 0, maxTokens: 24, ignoreEos: true, stop: [stop] });
    expect(cut!.outputs[0]).toMatchObject({ text: whole.slice(0, at), finishReason: 'stop', stopReason: stop });
    const [kept] = await llm.generate(prompt, { temperature: 0, maxTokens: 24, ignoreEos: true, stop: [stop], includeStopStrInOutput: true });
    expect(text(kept!)).toBe(whole.slice(0, at + stop.length));
    // The engine stopped right after the token that completed the stop string.
    expect(cut!.outputs[0]!.tokenIds).toEqual(tokens.slice(0, cut!.outputs[0]!.tokenIds.length));
    expect(llm.tokenizer.decode(cut!.outputs[0]!.tokenIds).length).toBeGreaterThanOrEqual(at + stop.length);
  });

  it('gives the same sampled output for the same seed, whatever else is in the batch', async () => {
    const params = new SamplingParams({ temperature: 0.9, topP: 0.95, seed: 1234, maxTokens: 16, ignoreEos: true });
    const prompt = { promptTokenIds: ref.prompts[1]!.prompt_ids };
    const [alone] = await llm.generate(prompt, params);
    const batch = await llm.generate(
      [{ promptTokenIds: ref.prompts[3]!.prompt_ids }, prompt, { promptTokenIds: ref.prompts[0]!.prompt_ids }],
      [params.with({ seed: 7 }), params, params.with({ seed: null })],
    );
    expect(batch[1]!.outputs[0]!.tokenIds).toEqual(alone!.outputs[0]!.tokenIds);
    const [other] = await llm.generate(prompt, params.with({ seed: 4321 }));
    expect(other!.outputs[0]!.tokenIds).not.toEqual(alone!.outputs[0]!.tokenIds);
  });

  it('fans n > 1 out into children seeded seed + i', async () => {
    const prompt = { promptTokenIds: ref.prompts[1]!.prompt_ids };
    const params = new SamplingParams({ n: 3, temperature: 1, seed: 10, maxTokens: 8, ignoreEos: true });
    const [out] = await llm.generate(prompt, params);
    expect(out!.outputs.map((o) => o.index)).toEqual([0, 1, 2]);
    const [child2] = await llm.generate(prompt, params.with({ n: 1, seed: 12 }));
    expect(out!.outputs[2]!.tokenIds).toEqual(child2!.outputs[0]!.tokenIds);
  });

  it('refuses a prompt longer than maxModelLen with both numbers, and runs the rest of the engine on', async () => {
    const long = { promptTokenIds: Array.from({ length: 641 }, (_, i) => i % 1000) };
    await expect(llm.generate(long, { maxTokens: 4 })).rejects.toMatchObject({
      code: 'prompt_too_long',
      message: expect.stringMatching(/641 tokens.*640/),
    });
    const [ok] = await llm.generate({ promptTokenIds: ref.prompts[0]!.prompt_ids }, { temperature: 0, maxTokens: 24, ignoreEos: true });
    expect(ok!.outputs[0]!.tokenIds).toEqual(ref.prompts[0]!.greedy_ids);
  });

  it('refuses empty prompts and token ids outside the vocabulary', async () => {
    await expect(llm.generate({ promptTokenIds: [] })).rejects.toMatchObject({ code: 'invalid_prompt' });
    await expect(llm.generate({ promptTokenIds: [1, 50304] })).rejects.toMatchObject({ code: 'invalid_prompt', message: expect.stringContaining('50304') });
    await expect(llm.generate('hi', { temperature: -1 })).rejects.toMatchObject({ code: 'invalid_sampling_params' });
  });

  it('returns logprobs of every generated token and prompt logprobs', async () => {
    const [out] = await llm.generate({ promptTokenIds: ref.prompts[1]!.prompt_ids }, { temperature: 0, maxTokens: 5, ignoreEos: true, logprobs: 2, promptLogprobs: 1 });
    const c = out!.outputs[0]!;
    expect(c.logprobs).toHaveLength(5);
    c.logprobs!.forEach((lp, i) => {
      expect(lp.chosen.tokenId).toBe(c.tokenIds[i]);
      expect(lp.chosen.rank).toBe(1); // greedy: the chosen token is the most likely
      expect(lp.top).toHaveLength(2);
    });
    expect(c.cumulativeLogprob).toBeCloseTo(c.logprobs!.reduce((s, lp) => s + lp.chosen.logprob, 0), 10);
    expect(out!.promptLogprobs).toHaveLength(7);
    expect(out!.promptLogprobs![0]).toBeNull();
    expect(out!.promptLogprobs!.slice(1).every((lp, i) => lp !== null && lp.chosen.tokenId === ref.prompts[1]!.prompt_ids[i + 1])).toBe(true);
  });

  it('renders chat conversations with the model template', async () => {
    const outs = await llm.chat([[{ role: 'user', content: 'Hello' }], [{ role: 'user', content: 'Bye' }]], { temperature: 0, maxTokens: 4 });
    expect(outs.map((o) => o.prompt)).toEqual([
      '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
      '<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n',
    ]);
    expect(outs[0]!.promptTokenIds).toEqual(llm.tokenizer.encode(outs[0]!.prompt!, { addSpecialTokens: false }));
  });
});

describe('LLMEngine (V0, this thread)', () => {
  it('steps requests to completion with growing cumulative outputs, n > 1 by fork, and aborts', async () => {
    const engine = await LLMEngine.create({ ...base, engineVersion: 'v0' });
    try {
      engine.addRequest('g', { promptTokenIds: ref.prompts[2]!.prompt_ids }, { temperature: 0, maxTokens: 24, ignoreEos: true });
      engine.addRequest('n', { promptTokenIds: ref.prompts[1]!.prompt_ids }, { n: 2, temperature: 1, seed: 5, maxTokens: 6, ignoreEos: true });
      engine.addRequest('x', { promptTokenIds: ref.prompts[3]!.prompt_ids }, { maxTokens: 100, ignoreEos: true });
      expect(() => engine.addRequest('g', 'again')).toThrow(expect.objectContaining({ code: 'duplicate_request_id' }));
      const lengths: number[] = [];
      const finals = new Map<string, RequestOutput>();
      let steps = 0;
      while (engine.hasUnfinishedRequests()) {
        for (const out of await engine.step()) {
          if (out.requestId === 'g') lengths.push(out.outputs[0]!.tokenIds.length);
          if (out.finished) finals.set(out.requestId, out);
        }
        if (++steps === 3) engine.abortRequest('x');
      }
      expect(lengths).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect(finals.get('g')!.outputs[0]!.tokenIds).toEqual(ref.prompts[2]!.greedy_ids);
      expect(finals.get('n')!.outputs.map((o) => [o.index, o.tokenIds.length, o.finishReason])).toEqual([
        [0, 6, 'length'],
        [1, 6, 'length'],
      ]);
      expect(finals.has('x')).toBe(false);
      expect(engine.getSchedulerStats()!.kvCacheUsage).toBe(0);
    } finally {
      await engine.close();
    }
    expect(() => engine.addRequest('late', 'x')).toThrow(expect.objectContaining({ code: 'engine_closed' }));
  });
});

describe('engine options', () => {
  it('are checked before anything loads, with a did-you-mean', async () => {
    await expect(LLM.create({ ...base, maxNumSeq: 4 } as never)).rejects.toMatchObject({
      code: 'invalid_option',
      message: expect.stringContaining('Did you mean "maxNumSeqs"?'),
    });
    await expect(LLM.create({ ...base, model: '/nonexistent/model-folder' })).rejects.toMatchObject({ code: 'model_not_found' });
    await expect(LLM.create({ ...base, kvCacheMemoryBytes: 4096 })).rejects.toMatchObject({ code: 'insufficient_kv_cache' });
    await expect(LLM.create({ ...base, device: 'cuda' })).rejects.toMatchObject({ code: 'cuda_unavailable' });
    await expect(LLM.create({ ...base, engineVersion: 'v0', maxNumBatchedTokens: 512 })).rejects.toMatchObject({
      code: 'invalid_option',
      field: 'maxNumBatchedTokens',
    });
  });
});
