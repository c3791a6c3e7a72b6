import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type VllmServer } from './create-server.js';
import { FakeEngine } from './test-support/fake-engine.js';

// The HTTP layer against a deterministic engine double over a byte tokenizer (ids 0..258): exact
// texts are predictable, so framing, mapping and error paths can be pinned exactly.

let server: VllmServer;
let engine: FakeEngine;
let base: string;
let client: OpenAI;

beforeAll(async () => {
  engine = new FakeEngine({ maxModelLen: 64 });
  server = createServer({ engine, servedModelNames: ['fake-model', 'alias'] });
  base = await server.listen({ port: 0 });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await server.close({ drainTimeoutMs: 1000 });
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('completions', () => {
  it('answers a greedy completion with the engine text, usage and stop_reason', async () => {
    const r = await client.completions.create({ model: 'fake-model', prompt: 'abc', max_tokens: 5, temperature: 0 });
    // Greedy fake: token k of a prompt of length L is ALPHABET[(L + k) % 27].
    expect(r.choices).toEqual([{ index: 0, text: 'defgh', logprobs: null, finish_reason: 'length', stop_reason: null }]);
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    expect(r.model).toBe('fake-model');
    expect(r.object).toBe('text_completion');
    expect(r.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
  });

  it('serves an alias and reports the name the client used', async () => {
    const r = await client.completions.create({ model: 'alias', prompt: 'abc', max_tokens: 1, temperature: 0 });
    expect(r.model).toBe('alias');
  });

  it('runs several prompts, n choices each, numbered prompt-major', async () => {
    const r = await client.completions.create({ model: 'fake-model', prompt: ['a', 'ab'], n: 2, max_tokens: 2, temperature: 0 });
    expect(r.choices.map((c) => [c.index, c.text])).toEqual([
      [0, 'bc'],
      [1, 'bc'],
      [2, 'cd'],
      [3, 'cd'],
    ]);
    expect(r.usage?.prompt_tokens).toBe(3);
    expect(r.usage?.completion_tokens).toBe(8);
  });

  it('cuts at a stop string and reports it as stop_reason', async () => {
    const r = await client.completions.create({ model: 'fake-model', prompt: 'abc', max_tokens: 10, temperature: 0, stop: ['g'] });
    expect(r.choices[0]).toMatchObject({ text: 'def', finish_reason: 'stop', stop_reason: 'g' });
  });

  it('echoes the prompt and returns logprobs with text offsets', async () => {
    const r = await client.completions.create({ model: 'fake-model', prompt: 'ab', max_tokens: 2, temperature: 0, echo: true, logprobs: 1 });
    const c = r.choices[0]!;
    expect(c.text).toBe('abcd');
    expect(c.logprobs?.tokens).toEqual(['a', 'b', 'c', 'd']);
    expect(c.logprobs?.text_offset).toEqual([0, 1, 2, 3]);
    expect(c.logprobs?.token_logprobs).toEqual([null, -1, -0.5, -0.5]);
    expect(c.logprobs?.top_logprobs?.[2]).toEqual({ c: -0.5 });
  });

  it('streams chunks that join to the non-streamed text, usage last, then [DONE]', async () => {
    const params = { model: 'fake-model', prompt: 'hello', max_tokens: 12, temperature: 0.9, seed: 7 } as const;
    const whole = await client.completions.create(params);
    const stream = await client.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe(whole.choices[0]!.text);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 });
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('length');
    expect(chunks.slice(0, -2).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
  });

  it('frames the stream as data lines and ends with [DONE]', async () => {
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a', max_tokens: 2, temperature: 0, stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.map((e) => (e === 'data: [DONE]' ? '[DONE]' : JSON.parse(e.slice(6)).choices[0].text))).toEqual(['b', 'c', '[DONE]']);
  });
});

describe('chat completions', () => {
  it('renders the chat template and answers as the assistant', async () => {
    const r = await client.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 3,
      temperature: 0,
    });
    // "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n" is 16 tokens: 1+5+2+1+1+1+9+... = see usage.
    expect(r.usage?.prompt_tokens).toBe(engine.tokenizer.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n').length);
    expect(r.choices[0]!.message).toEqual({ role: 'assistant', content: expect.stringMatching(/^[a-z ]{3}$/) });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.object).toBe('chat.completion');
  });

  it('streams the role first, content next, finish_reason last, usage after', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
      max_tokens: 4,
      n: 2,
      seed: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    for (const i of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0]?.index === i);
      expect(mine[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
      expect(mine.at(-1)!.choices[0]!.finish_reason).toBe('length');
      expect(mine.slice(1).map((c) => c.choices[0]!.delta.content ?? '').join('')).toHaveLength(4);
    }
    expect(chunks.at(-1)!.usage?.completion_tokens).toBe(8);
  });

  it('continues a final assistant message and echoes it', async () => {
    const r = await post('/v1/chat/completions', {
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hel' }],
      continue_final_message: true,
      add_generation_prompt: false,
      echo: true,
      max_tokens: 2,
      temperature: 0,
    });
    // The prompt ends right after "Hel" (no <|im_end|>), and the reply starts with it.
    const prompt = engine.tokenizer.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHel');
    expect(r.body.usage.prompt_tokens).toBe(prompt.length);
    expect(r.body.choices[0].message.content).toMatch(/^Hel[a-z ]{2}$/);
  });

  it('returns chat logprobs with top_logprobs', async () => {
    const r = await client.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 2,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(2);
    expect(content[0]!.top_logprobs).toHaveLength(2);
    expect(content[0]!.bytes).toEqual([...Buffer.from(content[0]!.token)]);
    expect(content[0]!.logprob).toBe(-0.5);
  });
});

describe('other endpoints', () => {
  it('lists the served models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['fake-model', 'alias']);
    expect((models.data[0] as unknown as { max_model_len: number }).max_model_len).toBe(64);
  });

  it('answers CORS preflights and marks responses, streamed ones included', async () => {
    const pre = await fetch(`${base}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    const streamed = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { origin: 'http://app.example', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a', max_tokens: 1, stream: true }),
    });
    expect(streamed.headers.get('access-control-allow-origin')).toBe('*');
    await streamed.text();
  });

  it('reports health and version', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await (await fetch(`${base}/version`)).json()).toEqual({ version: expect.any(String) });
  });

  it('tokenizes prompts and chats, and detokenizes', async () => {
    expect((await post('/tokenize', { prompt: 'hé' })).body).toEqual({ count: 3, max_model_len: 64, tokens: [104, 195, 169] });
    const chat = await post('/tokenize', { messages: [{ role: 'user', content: 'a' }], add_generation_prompt: false });
    expect(chat.body.tokens).toEqual(engine.tokenizer.encode('<|im_start|>user\na<|im_end|>\n'));
    expect((await post('/detokenize', { tokens: [104, 195, 169] })).body).toEqual({ prompt: 'hé' });
  });

  it('exports vLLM metric names with model_name and engine labels', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running{model_name="fake-model",engine="0"} 0',
      'vllm:num_requests_waiting{model_name="fake-model",engine="0"} 0',
      'vllm:kv_cache_usage_perc{model_name="fake-model",engine="0"} 0',
      'vllm:prompt_tokens_total{model_name="fake-model",engine="0"}',
      'vllm:generation_tokens_total{model_name="fake-model",engine="0"}',
      'vllm:request_success_total{model_name="fake-model",engine="0",finished_reason="length"}',
      'vllm:time_to_first_token_seconds_bucket{le="2560",model_name="fake-model",engine="0"}',
      'vllm:inter_token_latency_seconds_bucket{le="80",model_name="fake-model",engine="0"}',
      'vllm:e2e_request_latency_seconds_bucket{le="7680",model_name="fake-model",engine="0"}',
      'vllm:request_queue_time_seconds_count',
      'vllm:prefix_cache_queries_total',
      'vllm:prefix_cache_hits_total',
      'vllm:num_preemptions_total',
      'vllm:request_prompt_tokens_bucket{le="50",model_name="fake-model",engine="0"}',
      'http_requests_total{method="POST",status="2xx",handler="/v1/completions"}',
      'http_request_duration_seconds_count{method="GET",handler="/v1/models"} 1',
    ]) {
      expect(text).toContain(name);
    }
    const generated = Number(/vllm:generation_tokens_total\{[^}]*\} (\d+)/.exec(text)![1]);
    expect(generated).toBeGreaterThan(0);
  });
});
