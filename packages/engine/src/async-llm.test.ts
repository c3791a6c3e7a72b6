import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { AsyncLLM } from './index.js';
import type { IterationStats, RequestOutput } from './index.js';

const MODEL = 'tiny-llama';
const ref = modelReference(MODEL) as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
const prompt = (i: number) => ({ promptTokenIds: ref.prompts[i]!.prompt_ids });
const LONG = { temperature: 0, maxTokens: 400, ignoreEos: true };

async function collect(gen: AsyncGenerator<RequestOutput>): Promise<RequestOutput[]> {
  const outs: RequestOutput[] = [];
  for await (const o of gen) outs.push(o);
  return outs;
}

describe.each(['v1', 'v0'] as const)('AsyncLLM (%s)', (engineVersion) => {
  let llm: AsyncLLM;
  const stats: IterationStats[] = [];
  const progress: [number, number][] = [];
  beforeAll(async () => {
    llm = await AsyncLLM.create({
      model: modelFixtureDir(MODEL),
      engineVersion,
      maxModelLen: 640,
      kvCacheMemoryBytes: 1 << 22,
      servedModelName: 'tiny',
      onLoadProgress: (loaded, total) => progress.push([loaded, total]),
    });
    llm.onStats((s) => stats.push(s));
  });
  afterAll(() => llm.close());

  it('reports its configuration and its weight-loading progress', () => {
    expect(progress.length).toBeGreaterThan(0);
    const [loaded, total] = progress.at(-1)!;
    expect(loaded).toBe(total);
    expect(total).toBeGreaterThan(100_000);
    expect(llm.config).toMatchObject({ servedModelName: 'tiny', engineVersion, maxModelLen: 640, vocabSize: 3000, architecture: 'LlamaForCausalLM', device: 'cpu', blockSize: 16 });
    expect(llm.isReady).toBe(true);
  });

  it('streams deltas that add up to the cumulative text, alongside other requests', async () => {
    const params = { temperature: 0, maxTokens: 24, ignoreEos: true, stop: ['zzzz'] };
    const [deltas, cumulative, final] = await Promise.all([
      collect(llm.generate(prompt(2), params, 'delta', { outputKind: 'delta' })),
      collect(llm.generate(prompt(2), params, 'cumul')),
      collect(llm.generate(prompt(4), params, 'final', { outputKind: 'final' })),
    ]);
    const last = cumulative.at(-1)!.outputs[0]!;
    expect(last.tokenIds).toEqual(ref.prompts[2]!.greedy_ids);
    expect(deltas.map((d) => d.outputs.map((o) => o.text).join('')).join('')).toBe(last.text);
    expect(deltas.flatMap((d) => d.outputs.flatMap((o) => o.tokenIds))).toEqual(last.tokenIds);
    expect(final).toHaveLength(1);
    expect(final[0]!.outputs[0]!.tokenIds).toEqual(ref.prompts[4]!.greedy_ids);
    const ttfts = stats.flatMap((s) => s.timeToFirstTokens);
    expect(ttfts.length).toBeGreaterThanOrEqual(3);
    expect(ttfts.every((t) => t > 0)).toBe(true);
    const finished = stats.flatMap((s) => s.finishedRequests).filter((f) => f.numGenerationTokens === 24);
    expect(finished.length).toBeGreaterThanOrEqual(3);
    for (const f of finished) {
      expect(f.finishReason).toBe('length');
      expect(f.e2eLatency).toBeGreaterThanOrEqual(f.inferenceTime);
      expect(f.inferenceTime).toBeCloseTo(f.prefillTime + f.decodeTime, 9);
    }
  });

  it('aborts by signal, by breaking out and by abort(), freeing every block', async () => {
    const controller = new AbortController();
    const bySignal = (async () => {
      const outs: RequestOutput[] = [];
      for await (const o of llm.generate(prompt(3), LONG, 'sig', { signal: controller.signal })) {
        outs.push(o);
        if (outs.length === 3) controller.abort();
      }
      return outs;
    })();
    const byBreak = (async () => {
      let n = 0;
      for await (const _ of llm.generate(prompt(4), LONG, 'brk')) if (++n === 2) break;
      return n;
    })();
    const byCall = collect(llm.generate(prompt(5), LONG, 'call'));
    const survivor = collect(llm.generate(prompt(1), { temperature: 0, maxTokens: 24, ignoreEos: true }, 'survivor'));
    const sigOuts = await bySignal;
    expect(await byBreak).toBe(2);
    await llm.abort('call');
    const callOuts = await byCall;
    expect(sigOuts.at(-1)).toMatchObject({ finished: true, outputs: [{ finishReason: 'abort' }] });
    expect(sigOuts.at(-1)!.outputs[0]!.tokenIds.length).toBeLessThan(400);
    expect(callOuts.at(-1)).toMatchObject({ finished: true, outputs: [{ finishReason: 'abort' }] });
    expect((await survivor).at(-1)!.outputs[0]!.tokenIds).toEqual(ref.prompts[1]!.greedy_ids);
    // Resetting the prefix cache succeeds only when no request holds a block.
    expect(await llm.resetPrefixCache()).toBe(true);
    expect(llm.getSchedulerStats().kvCacheUsage).toBe(0);
  });

  it('refuses a too-long prompt and a live id without disturbing a running request', async () => {
    const running = collect(llm.generate(prompt(2), { temperature: 0, maxTokens: 24, ignoreEos: true }, 'busy'));
    await expect(collect(llm.generate({ promptTokenIds: Array.from({ length: 700 }, () => 5) }, {}, 'long'))).rejects.toMatchObject({
      code: 'prompt_too_long',
      message: expect.stringMatching(/700 tokens.*640/),
    });
    await expect(collect(llm.generate(prompt(0), {}, 'busy'))).rejects.toMatchObject({ code: 'duplicate_request_id' });
    expect((await running).at(-1)!.outputs[0]!.tokenIds).toEqual(ref.prompts[2]!.greedy_ids);
  });

  it('applies a logit bias, refuses one outside the vocabulary, and reports no generation defaults for a model without any', async () => {
    const outs = await collect(llm.generate(prompt(0), { temperature: 0, maxTokens: 3, ignoreEos: true, logitBias: { 42: 100 } }, 'bias'));
    expect(outs.at(-1)!.outputs[0]!.tokenIds).toEqual([42, 42, 42]);
    await expect(collect(llm.generate(prompt(0), { logitBias: { 3000: 1 } }, 'oov'))).rejects.toMatchObject({
      code: 'invalid_sampling_params',
      message: 'SamplingParams.logitBias must be token ids in [0, 3000) (the vocabulary size is 3000) (got [3000])',
    });
    expect(llm.getGenerationDefaults()).toEqual({ source: 'model', params: {}, maxTokensCap: null });
  });
});

describe('AsyncLLM.close', () => {
  it('aborts in-flight requests and refuses new ones', async () => {
    const llm = await AsyncLLM.create({ model: modelFixtureDir(MODEL), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22 });
    const inflight = collect(llm.generate(prompt(3), LONG, 'a'));
    await llm.close({ drainTimeoutMs: 50 });
    expect((await inflight).at(-1)).toMatchObject({ finished: true, outputs: [{ finishReason: 'abort' }] });
    expect(llm.isClosed).toBe(true);
    await expect(collect(llm.generate(prompt(0), {}, 'b'))).rejects.toMatchObject({ code: 'engine_closed' });
  });
});

describe('AsyncLLM when the engine core dies', () => {
  it('fails live requests with finish reason error and refuses new ones with engine_dead', async () => {
    const llm = await AsyncLLM.create({ model: modelFixtureDir(MODEL), maxModelLen: 640, kvCacheMemoryBytes: 1 << 22 });
    const outs: RequestOutput[] = [];
    for await (const o of llm.generate(prompt(3), LONG, 'doomed')) {
      outs.push(o);
      // Simulates a crash of the worker thread (a native fault, out of memory): reach into the client.
      if (outs.length === 2) await (llm as unknown as { frontend: { client: { worker: { terminate(): Promise<number> } } } }).frontend.client.worker.terminate();
    }
    expect(outs.at(-1)).toMatchObject({ finished: true, outputs: [{ finishReason: 'error' }] });
    await expect(collect(llm.generate(prompt(0), {}, 'after'))).rejects.toMatchObject({ code: 'engine_dead' });
    await llm.close();
    expect(llm.isClosed).toBe(true);
  });
});
