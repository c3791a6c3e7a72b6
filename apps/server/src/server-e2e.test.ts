import { request as httpRequest } from 'node:http';
import { AsyncLLM, LLM, SamplingParams } from '@vllm-ts/engine';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type VllmServer } from './create-server.js';

// The server over the real engine (V1, CPU) and the tiny-qwen3 fixture model, driven by the
// official openai client.

const MODEL = 'tiny-qwen3';
let engine: AsyncLLM;
let server: VllmServer;
let base: string;
let client: OpenAI;

beforeAll(async () => {
  engine = await AsyncLLM.create({ model: modelFixtureDir(MODEL), servedModelName: MODEL, device: 'cpu', seed: 0 });
  server = createServer({ engine, enablePromptTokensDetails: true });
  base = await server.listen({ port: 0 });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await server?.close({ drainTimeoutMs: 1000 });
});

/** vLLM's extra request fields, which the openai client passes through untyped. */
const vllmExtras = (fields: Record<string, unknown>): object => fields;

/** The value of the first sample of `name` whose labels include `labels`. */
async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  if (!line) throw new Error(`no ${name}{${labels}} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe(`server over the engine (${MODEL})`, () => {
  it('greedy completions equal LLM.generate and the transformers reference', async () => {
    const ref = modelReference(MODEL) as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
    const llm = await LLM.create({ model: modelFixtureDir(MODEL), device: 'cpu' });
    try {
      for (const p of ref.prompts.slice(0, 3)) {
        const params = new SamplingParams({ temperature: 0, maxTokens: 24, ignoreEos: true });
        const [offline] = await llm.generate({ promptTokenIds: p.prompt_ids }, params);
        expect(offline!.outputs[0]!.tokenIds).toEqual(p.greedy_ids);
        const r = await client.completions.create({ ...vllmExtras({ ignore_eos: true }), model: MODEL, prompt: p.prompt_ids, max_tokens: 24, temperature: 0 });
        expect(r.choices[0]!.text).toBe(offline!.outputs[0]!.text);
        expect(r.usage).toMatchObject({ prompt_tokens: p.prompt_ids.length, completion_tokens: 24 });
      }
    } finally {
      await llm.close();
    }
  });

  it('the V0 engine behind the same server gives the same greedy text', async () => {
    const v0 = await AsyncLLM.create({ model: modelFixtureDir(MODEL), servedModelName: MODEL, device: 'cpu', engineVersion: 'v0' });
    const other = createServer({ engine: v0 });
    const otherBase = await other.listen({ port: 0 });
    try {
      const body = { model: MODEL, messages: [{ role: 'user', content: 'In the beginning' }], max_tokens: 16, temperature: 0 };
      const ask = async (url: string) =>
        ((await (await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
      expect(await ask(otherBase)).toBe(await ask(base));
    } finally {
      await other.close({ drainTimeoutMs: 0 });
    }
  });

  it('streams the same text it returns whole, for the same seed', async () => {
    const params = { model: MODEL, prompt: 'The quick brown fox', max_tokens: 20, temperature: 0.8, seed: 1234 };
    const whole = await client.completions.create(params);
    const stream = await client.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let last;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      last = chunk;
    }
    expect(text).toBe(whole.choices[0]!.text);
    expect(last!.choices).toEqual([]);
    expect(last!.usage).toMatchObject({ prompt_tokens: whole.usage!.prompt_tokens, completion_tokens: whole.usage!.completion_tokens });
  });

  it('chat: n=2 with logprobs, streamed and not', async () => {
    const messages = [{ role: 'user' as const, content: 'Say something.' }];
    const r = await client.chat.completions.create({ model: MODEL, messages, n: 2, max_tokens: 6, seed: 5, logprobs: true, top_logprobs: 3 });
    expect(r.choices).toHaveLength(2);
    for (const c of r.choices) {
      expect(c.message.role).toBe('assistant');
      expect(c.logprobs!.content!.length).toBeGreaterThan(0);
      for (const e of c.logprobs!.content!) {
        expect(e.top_logprobs).toHaveLength(3);
        expect(e.logprob).toBeLessThanOrEqual(0);
        expect(e.top_logprobs[0]!.logprob).toBeGreaterThanOrEqual(e.top_logprobs[2]!.logprob);
      }
    }
    const stream = await client.chat.completions.create({ model: MODEL, messages, n: 2, max_tokens: 6, seed: 5, stream: true, stream_options: { include_usage: true } });
    const texts = ['', ''];
    const finish: (string | null)[] = [null, null];
    let usage;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? '';
        if (c.finish_reason) finish[c.index] = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts).toEqual(r.choices.map((c) => c.message.content));
    expect(finish).toEqual(r.choices.map((c) => c.finish_reason));
    expect(usage).toMatchObject({ completion_tokens: r.usage!.completion_tokens, prompt_tokens: r.usage!.prompt_tokens });
  });

  it('completions logprobs and stop strings', async () => {
    const greedy = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 12, temperature: 0, logprobs: 2 });
    const c = greedy.choices[0]!;
    expect(c.logprobs!.tokens!.join('')).toBe(c.text);
    expect(c.logprobs!.token_logprobs!.every((x) => x !== null && x <= 0)).toBe(true);
    // Cut the same greedy text at a word it contains: the text stops right before it.
    const word = c.text.trim().split(/\s+/)[2] ?? c.text.trim().slice(-3);
    const cut = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 12, temperature: 0, stop: [word] });
    expect(cut.choices[0]!.text).toBe(c.text.slice(0, c.text.indexOf(word)));
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    expect((cut.choices[0] as unknown as { stop_reason: string }).stop_reason).toBe(word);
  });

  it('refuses a prompt with out-of-vocabulary ids and one longer than the model, and keeps serving', async () => {
    const oov = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: [1, 60000] }) });
    expect(oov.status).toBe(400);
    expect(((await oov.json()) as { error: { param: string } }).error.param).toBe('prompt[1]');
    const long = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: Array(engine.config.maxModelLen + 1).fill(5) }) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { message: string } }).error.message).toContain(`${engine.config.maxModelLen} tokens`);
    const ok = await client.completions.create({ model: MODEL, prompt: 'ok', max_tokens: 2 });
    expect(ok.choices[0]!.finish_reason).toBe('length');
  });

  it('logit_bias forces and bans tokens; an id outside the vocabulary is a 400', async () => {
    const ref = modelReference(MODEL) as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
    const p = ref.prompts[0]!;
    const forced = 1234;
    const r = await client.completions.create({ ...vllmExtras({ ignore_eos: true, logit_bias: { [forced]: 100 } }), model: MODEL, prompt: p.prompt_ids, max_tokens: 4, temperature: 0 });
    expect(r.choices[0]!.text).toBe(engine.tokenizer.decode([forced, forced, forced, forced]));
    const banned = await client.completions.create({ ...vllmExtras({ ignore_eos: true }), logit_bias: { [p.greedy_ids[0]!]: -100 }, model: MODEL, prompt: p.prompt_ids, max_tokens: 1, temperature: 0 });
    expect(banned.choices[0]!.text).not.toBe(engine.tokenizer.decode([p.greedy_ids[0]!]));
    const V = engine.config.vocabSize;
    await expect(client.completions.create({ model: MODEL, prompt: p.prompt_ids, max_tokens: 1, logit_bias: { [V]: 5 } })).rejects.toMatchObject({
      status: 400,
      error: { param: 'logit_bias', message: `token_id(s) [${V}] in logit_bias contain out-of-vocab token ids. Vocabulary size: ${V}` },
    });
  });

  it('a client that disconnects mid-stream frees its blocks', async () => {
    const url = new URL(base);
    let chunks = 0;
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/v1/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('response', (res) => res.on('data', () => ++chunks === 4 && req.destroy()));
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: MODEL, prompt: 'x '.repeat(100), max_tokens: 2000, ignore_eos: true, stream: true }));
    await until(() => chunks >= 4, 'the first chunks');
    await until(async () => (await metric('vllm:request_success_total', 'finished_reason="abort"')) >= 1, 'the abort');
    // NOTE: the engine refreshes its scheduler stats only when a step runs, and an abort on an
    // otherwise idle engine runs none; one more request makes a step that shows the freed blocks.
    await client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 1 });
    await until(async () => (await metric('vllm:kv_cache_usage_perc')) === 0, 'the blocks to return to the pool');
    expect(await metric('vllm:num_requests_running')).toBe(0);
  });

  it('256 concurrent streaming requests all complete, then nothing runs and no KV is held', async () => {
    const results = await Promise.all(
      Array.from({ length: 256 }, async (_, i) => {
        const stream = await client.completions.create({ ...vllmExtras({ ignore_eos: true }), model: MODEL, prompt: `Request number ${i} says`, max_tokens: 3, seed: i, stream: true });
        let tokens = 0;
        let finish: string | null = null;
        for await (const chunk of stream) {
          if (chunk.choices[0]?.text) tokens++;
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        return { tokens, finish };
      }),
    );
    expect(results.every((r) => r.finish === 'length' && r.tokens > 0)).toBe(true);
    await until(async () => (await metric('vllm:num_requests_running')) === 0, 'running to reach 0');
    expect(await metric('vllm:num_requests_waiting')).toBe(0);
    expect(await metric('vllm:kv_cache_usage_perc')).toBe(0);
    expect(await metric('vllm:generation_tokens_total')).toBeGreaterThanOrEqual(256 * 3);
  });
});
