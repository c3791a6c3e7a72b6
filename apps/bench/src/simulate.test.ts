import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulate, type SimulateOptions } from './commands/simulate.js';
import { LLAMA31_8B_H200, stepTime } from './cost-model.js';
import { prefixRepetitionDataset, randomDataset } from './datasets.js';
import { simulate } from './simulate.js';
import { readTrace } from './trace.js';

const base = { maxNumSeqs: 64, maxModelLen: 2048, blockSize: 16 };
const v1pc = { engineVersion: 'v1', enablePrefixCaching: true, enableChunkedPrefill: true, ...base } as const;
const v0 = { engineVersion: 'v0', enablePrefixCaching: false, enableChunkedPrefill: false, ...base } as const;

describe('simulate', () => {
  it('generates exactly the requested tokens and times a lone request by the cost model', () => {
    const reqs = randomDataset({ numPrompts: 1, inputLen: 100, outputLen: 3, vocabSize: 1000 });
    const r = simulate(reqs, [0], v1pc, LLAMA31_8B_H200);
    const prefill = stepTime(LLAMA31_8B_H200, [{ numTokens: 100, numComputedTokens: 0 }]);
    const decode1 = stepTime(LLAMA31_8B_H200, [{ numTokens: 1, numComputedTokens: 100 }]);
    const decode2 = stepTime(LLAMA31_8B_H200, [{ numTokens: 1, numComputedTokens: 101 }]);
    expect(r.numSteps).toBe(3);
    expect(r.ttftMs.median).toBeCloseTo(prefill * 1000, 9);
    expect(r.e2elMs.median).toBeCloseTo((prefill + decode1 + decode2) * 1000, 9);
    expect(r.tpotMs.median).toBeCloseTo(((decode1 + decode2) / 2) * 1000, 9);
    expect(r.outputThroughput * r.durationS).toBeCloseTo(3, 9);
  });

  it('shared prefixes hit the V1 cache; V0 without caching never does', () => {
    const reqs = prefixRepetitionDataset({ numPrompts: 40, prefixLen: 256, suffixLen: 64, numPrefixes: 2, outputLen: 8, vocabSize: 32000 });
    const arrivals = reqs.map((_, i) => i * 0.05);
    const on = simulate(reqs, arrivals, v1pc, LLAMA31_8B_H200);
    const off = simulate(reqs, arrivals, v0, LLAMA31_8B_H200);
    // 38 of 40 prompts find their 256-token prefix (16 full blocks) cached: 38 * 256 / (40 * 320).
    expect(on.prefixCacheHitRate).toBeCloseTo((38 * 256) / (40 * 320), 2);
    expect(off.prefixCacheHitRate).toBe(0);
    expect(on.ttftMs.mean).toBeLessThan(off.ttftMs.mean);
    expect(on.requestThroughput * on.durationS).toBeCloseTo(40, 6);
  });

  it('a KV cache too small for the batch preempts, and every request still completes', () => {
    const reqs = randomDataset({ numPrompts: 16, inputLen: 64, outputLen: 64, vocabSize: 1000 });
    const r = simulate(reqs, Array.from({ length: 16 }, () => 0), { ...v1pc, numGpuBlocks: 40 }, LLAMA31_8B_H200);
    expect(r.numPreemptions).toBeGreaterThan(0);
    expect(r.outputThroughput * r.durationS).toBeCloseTo(16 * 64, 6);
    const r0 = simulate(reqs, Array.from({ length: 16 }, () => 0), { ...v0, numGpuBlocks: 40 }, LLAMA31_8B_H200);
    expect(r0.numPreemptions).toBeGreaterThan(0);
    expect(r0.outputThroughput * r0.durationS).toBeCloseTo(16 * 64, 6);
  });

  it('reads Mooncake-style traces: shared hash ids give shared tokens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-trace-'));
    const f = join(dir, 't.jsonl');
    writeFileSync(f, ['{"timestamp":2000,"input_length":600,"output_length":4,"hash_ids":[7,8]}', '{"timestamp":1000,"input_length":700,"output_length":2,"hash_ids":[7,9]}'].join('\n'));
    const t = readTrace(f, 32000);
    expect(t.arrivals).toEqual([0, 1]);
    expect(t.requests.map((r) => r.promptTokenIds.length)).toEqual([700, 600]);
    expect(t.requests[0]!.promptTokenIds.slice(0, 512)).toEqual(t.requests[1]!.promptTokenIds.slice(0, 512));
    expect(t.requests[0]!.promptTokenIds.slice(512, 600)).not.toEqual(t.requests[1]!.promptTokenIds.slice(512, 600));
    writeFileSync(f, '{"timestamp":1}\n');
    expect(() => readTrace(f)).toThrow(/output_length/);
  });

  it('runSimulate writes every configuration with its metrics to JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-sim-'));
    const o: SimulateOptions = {
      datasetName: 'random', numPrompts: 30, inputLen: 200, outputLen: 16, rangeRatio: 0.2, prefixLen: 100, suffixLen: 0, numPrefixes: 1, seed: 0,
      configs: 'all', requestRate: 50, burstiness: 1, costModel: 'overheadS=0.001', maxNumSeqs: 32, maxModelLen: 1024, blockSize: 16, vocabSize: 32000,
      outputJson: join(dir, 'sim.json'),
    };
    const lines: string[] = [];
    await runSimulate(o, (s) => lines.push(s));
    const json = JSON.parse(readFileSync(o.outputJson!, 'utf8'));
    expect(json.benchmark).toBe('simulate');
    expect(json.costModel.overheadS).toBe(0.001);
    expect(json.results.map((r: { engine: string }) => r.engine)).toEqual(['v1+pc', 'v1', 'v0', 'v0+pc', 'v0+cp', 'v0+pc+cp']);
    for (const r of json.results) {
      expect(r).toHaveProperty('ttftMs.percentiles.p99');
      expect(r).toHaveProperty('tpotMs.median');
      expect(r.requestThroughput).toBeGreaterThan(0);
      expect(r.numRequests).toBe(30);
      expect(typeof r.numPreemptions).toBe('number');
    }
    expect(json.results[0].prefixCacheHitRate).toBeGreaterThan(0.3);
    expect(json.results[1].prefixCacheHitRate).toBe(0);
    expect(lines.join('\n')).toMatch(/v0\+pc\+cp/);
  });
});
