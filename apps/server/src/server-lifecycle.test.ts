import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';
import { FakeEngine } from './test-support/fake-engine.js';

const json = { 'content-type': 'application/json' };

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('server lifecycle', () => {
  it('answers 503 while the engine loads, then serves', async () => {
    let resolve!: (e: FakeEngine) => void;
    const server = createServer({ engine: new Promise<FakeEngine>((r) => (resolve = r)) });
    const base = await server.listen({ port: 0 });
    try {
      expect(server.state).toBe('loading');
      expect((await fetch(`${base}/health`)).status).toBe(503);
      const early = await fetch(`${base}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify({ prompt: 'a' }) });
      expect(early.status).toBe(503);
      expect(((await early.json()) as { error: { type: string; message: string } }).error).toMatchObject({
        type: 'service_unavailable_error',
        message: expect.stringMatching(/still loading/),
      });
      resolve(new FakeEngine());
      await server.ready;
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const ok = await fetch(`${base}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify({ prompt: 'a', max_tokens: 1 }) });
      expect(ok.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('marks the server failed when the engine cannot load', async () => {
    const server = createServer({ engine: Promise.reject(new Error('no weights')) });
    const base = await server.listen({ port: 0 });
    await expect(server.ready).rejects.toThrow('no weights');
    expect(server.state).toBe('failed');
    expect((await fetch(`${base}/health`)).status).toBe(503);
    await server.close();
  });

  it('aborts the engine request when the client disconnects mid-stream', async () => {
    const engine = new FakeEngine({ stepMs: 2 });
    const server = createServer({ engine });
    const base = new URL(await server.listen({ port: 0 }));
    try {
      let received = 0;
      const req = httpRequest({ host: base.hostname, port: base.port, path: '/v1/completions', method: 'POST', headers: json });
      req.on('response', (res) => {
        res.on('data', () => {
          received++;
          if (received === 3) req.destroy();
        });
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ prompt: 'a', max_tokens: 500, stream: true, ignore_eos: true }));
      await until(() => engine.abortedIds.length === 1, 'the abort');
      await until(() => engine.live.size === 0, 'the request to leave the engine');
      expect(engine.getSchedulerStats().numRunningReqs).toBe(0);
      expect(engine.getSchedulerStats().kvCacheUsage).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('aborts a non-streaming request whose client left', async () => {
    const engine = new FakeEngine({ stepMs: 2 });
    const server = createServer({ engine });
    const base = await server.listen({ port: 0 });
    try {
      const controller = new AbortController();
      const pending = fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], max_tokens: 400 }),
        signal: controller.signal,
      }).catch((e: unknown) => e);
      await until(() => engine.live.size === 1, 'the request to start');
      controller.abort();
      await pending;
      await until(() => engine.live.size === 0, 'the abort');
      expect(engine.abortedIds).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('answers an engine refusal before the first output with its HTTP status, even when streaming', async () => {
    const engine = new FakeEngine({ stepMs: 2 });
    const server = createServer({ engine });
    const base = await server.listen({ port: 0 });
    try {
      const body = { prompt: 'a', max_tokens: 60, stream: true, request_id: 'same-id' };
      const first = fetch(`${base}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify(body) });
      await until(() => engine.live.size === 1, 'the first request to start');
      const second = await fetch(`${base}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify(body) });
      expect(second.status).toBe(400);
      expect(((await second.json()) as { error: { code: string } }).error.code).toBe('duplicate_request_id');
      // The refused duplicate must not end the request that owns the id.
      const text = await (await first).text();
      expect(text).toContain('"finish_reason":"length"');
      expect(engine.abortedIds).toEqual([]);
    } finally {
      await server.close({ drainTimeoutMs: 0 });
    }
  });

  it('drains in-flight requests on close and refuses new ones', async () => {
    const engine = new FakeEngine({ stepMs: 2 });
    const server = createServer({ engine });
    const base = await server.listen({ port: 0 });
    const inflight = fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'a', max_tokens: 30, temperature: 0 }),
    });
    await until(() => engine.live.size === 1, 'the request to start');
    const closed = server.close({ drainTimeoutMs: 10_000 });
    expect(server.state).toBe('draining');
    // The listener takes no new connections once draining starts.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    const res = await inflight;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { text: string; finish_reason: string }[] };
    expect(body.choices[0]!.finish_reason).toBe('length');
    expect(body.choices[0]!.text).toHaveLength(30);
    await closed;
    expect(server.state).toBe('closed');
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });

  it('aborts what is still running when the drain time runs out', async () => {
    const engine = new FakeEngine({ stepMs: 2 });
    const server = createServer({ engine });
    const base = await server.listen({ port: 0 });
    const inflight = fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'a', max_tokens: 500, stream: true }),
    });
    await until(() => engine.live.size === 1, 'the request to start');
    await server.close({ drainTimeoutMs: 50 });
    const text = await (await inflight).text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(engine.abortedIds).toHaveLength(1);
  });
});
