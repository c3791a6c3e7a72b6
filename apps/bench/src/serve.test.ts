import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncLLM } from '@vllm-ts/engine';
import { createServer, type VllmServer } from '@vllm-ts/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServeBenchmark, type ServeBenchOptions } from './commands/serve.js';
import { computeServeMetrics, parseGoodput } from './serve-metrics.js';

describe('computeServeMetrics', () => {
  it('uses vLLM benchmark_serving definitions', () => {
    const m = computeServeMetrics(
      [
        { success: true, error: '', ttft: 0.1, itl: [0.02, 0.04], latency: 0.16, promptLen: 10, outputLen: 3 },
        { success: true, error: '', ttft: 0.3, itl: [], latency: 0.3, promptLen: 20, outputLen: 1 },
        { success: false, error: 'boom', ttft: 0, itl: [], latency: 0.01, promptLen: 5, outputLen: 0 },
      ],
      2,
      [50, 99],
      parseGoodput(['ttft:200', 'tpot:40']),
      2,
    );
    expect([m.completed, m.failed, m.totalInputTokens, m.totalOutputTokens]).toEqual([2, 1, 30, 4]);
    expect(m.requestThroughput).toBe(1);
    expect(m.outputThroughput).toBe(2);
    expect(m.totalTokenThroughput).toBe(17);
    // TPOT only for requests with more than one token: (0.16 - 0.1) / 2 = 30 ms.
    expect(m.tpotMs.count).toBe(1);
    expect(m.tpotMs.mean).toBeCloseTo(30, 9);
    expect(m.itlMs.count).toBe(2);
    expect(m.itlMs.mean).toBeCloseTo(30, 9);
    expect(m.ttftMs.median).toBeCloseTo(200, 9);
    // Only the first request meets TTFT <= 200 ms and TPOT <= 40 ms.
    expect(m.requestGoodput).toBe(0.5);
    expect(() => parseGoodput(['itl:5'])).toThrow(/goodput/);
  });
});

describe('serve benchmark against a real in-process server', () => {
  let server: VllmServer;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer({ engine: AsyncLLM.create({ seed: 0, maxNumSeqs: 8 }), disableLogRequests: true });
    await server.ready;
    baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
  }, 60_000);
  afterAll(async () => {
    await server?.close({ drainTimeoutMs: 1000 });
  });

  it('measures every request and writes the vLLM metrics to JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-serve-'));
    const o: ServeBenchOptions = {
      datasetName: 'random', numPrompts: 6, inputLen: 24, outputLen: 6, rangeRatio: 0, prefixLen: 0, suffixLen: 0, numPrefixes: 1, seed: 0,
      baseUrl, endpoint: '/v1/completions', requestRate: 50, burstiness: 1, maxConcurrency: 2, vocabSize: 4096, percentiles: [50, 99],
      goodput: { e2el: 600_000 }, outputJson: join(dir, 'serve.json'),
    };
    const r = await runServeBenchmark(o, () => {});
    const json = JSON.parse(readFileSync(o.outputJson!, 'utf8'));
    expect(json.errors).toEqual([]);
    expect(json).toMatchObject({ benchmark: 'serve', completed: 6, failed: 0, totalInputTokens: 6 * 24, totalOutputTokens: 6 * 6, maxConcurrency: 2, requestRate: 50 });
    expect(json.maxConcurrentRequests).toBeLessThanOrEqual(2);
    for (const k of ['ttftMs', 'tpotMs', 'itlMs', 'e2elMs']) {
      expect(json[k].count).toBeGreaterThan(0);
      expect(json[k].percentiles.p99).toBeGreaterThanOrEqual(json[k].percentiles.p50);
    }
    expect(json.tpotMs.count).toBe(6);
    expect(json.e2elMs.min).toBeGreaterThanOrEqual(json.ttftMs.min);
    expect(json.requestGoodput).toBeCloseTo(json.requestThroughput, 9);
    expect(r.model.length).toBeGreaterThan(0);
  }, 60_000);
});
