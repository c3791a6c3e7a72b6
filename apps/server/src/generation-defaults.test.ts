import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type VllmServer } from './create-server.js';
import type { GenerationDefaults } from './engine-types.js';
import { FakeEngine } from './test-support/fake-engine.js';

// The generation-config defaults and logit_bias as the routes apply them, seen from the params the
// engine receives.

const DEFAULTS: GenerationDefaults = { source: 'model', params: { temperature: 0, topK: 20, maxTokens: 5 }, maxTokensCap: null };

async function start(generationDefaults: GenerationDefaults, lines: string[] = []): Promise<{ server: VllmServer; engine: FakeEngine; base: string }> {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const engine = new FakeEngine({ generationDefaults });
  const server = createServer({ engine, logger: pino({ level: 'info' }, stream), disableLogRequests: true });
  return { server, engine, base: await server.listen({ port: 0 }) };
}

async function post(base: string, path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const chat = { messages: [{ role: 'user', content: 'hi' }] };

describe('generation-config defaults in the routes', () => {
  let s: Awaited<ReturnType<typeof start>>;
  const lines: string[] = [];
  beforeAll(async () => {
    s = await start(DEFAULTS, lines);
  });
  afterAll(() => s.server.close({ drainTimeoutMs: 1000 }));

  it('logs where the defaults come from, as vLLM does', () => {
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('Using default chat sampling params from model: {"temperature":0,"top_k":20,"max_tokens":5}');
    expect(msgs).toContain('Using default completion sampling params from model: {"temperature":0,"top_k":20,"max_tokens":5}');
  });

  it('chat: unset fields take the defaults, max_new_tokens included', async () => {
    const r = await post(s.base, '/v1/chat/completions', chat);
    expect(r.status).toBe(200);
    expect(s.engine.seenParams.at(-1)).toMatchObject({ temperature: 0, topK: 20, topP: 1, maxTokens: 5 });
    expect(r.json.usage).toMatchObject({ completion_tokens: 5 });
  });

  it('request values win over the defaults', async () => {
    await post(s.base, '/v1/chat/completions', { ...chat, temperature: 0.9, top_k: -1, max_tokens: 7 });
    expect(s.engine.seenParams.at(-1)).toMatchObject({ temperature: 0.9, topK: 0, maxTokens: 7 });
  });

  it('completions: max_tokens stays 16 when omitted (the OpenAI default), sampling defaults apply', async () => {
    await post(s.base, '/v1/completions', { prompt: 'hi' });
    expect(s.engine.seenParams.at(-1)).toMatchObject({ temperature: 0, topK: 20, maxTokens: 16 });
  });

  it('logit_bias reaches the engine with integer ids and clamped values', async () => {
    const r = await post(s.base, '/v1/completions', { prompt: 'hi', logit_bias: { '97': 250, '98': -3.5 } });
    expect(r.status).toBe(200);
    expect(s.engine.seenParams.at(-1)!.logitBias).toEqual({ 97: 100, 98: -3.5 });
  });
});

describe('the override max_new_tokens caps every request', () => {
  it('explicit max_tokens included', async () => {
    const { server, engine, base } = await start({ source: 'vllm', params: { maxTokens: 4 }, maxTokensCap: 4 });
    try {
      await post(base, '/v1/chat/completions', { ...chat, max_tokens: 10 });
      expect(engine.seenParams.at(-1)!.maxTokens).toBe(4);
      await post(base, '/v1/completions', { prompt: 'hi', max_tokens: 3 });
      expect(engine.seenParams.at(-1)!.maxTokens).toBe(3);
    } finally {
      await server.close({ drainTimeoutMs: 1000 });
    }
  });

  it('no defaults: no log lines, vLLM defaults', async () => {
    const lines: string[] = [];
    const { server, engine, base } = await start({ source: 'vllm', params: {}, maxTokensCap: null }, lines);
    try {
      expect(lines.join('\n')).not.toContain('Using default');
      await post(base, '/v1/chat/completions', chat);
      expect(engine.seenParams.at(-1)).toMatchObject({ temperature: 1, topK: 0, maxTokens: 512 - engine.tokenizer.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n').length });
    } finally {
      await server.close({ drainTimeoutMs: 1000 });
    }
  });
});
