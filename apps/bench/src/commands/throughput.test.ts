import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonObjectArg, type EngineFlags } from '../cli-options.js';
import { runLatency } from './latency.js';
import { runThroughput } from './throughput.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-tp-'));

describe('throughput and latency on the CPU backend', () => {
  it('throughput: custom JSONL dataset, tiny, JSON fields consistent', async () => {
    const data = join(dir, 'p.jsonl');
    writeFileSync(data, ['{"prompt":"The quick brown fox","output_tokens":4}', '{"prompt_token_ids":[20,21,22,23,24,25],"output_tokens":5}', '{"prompt":"jumps over the lazy dog"}'].join('\n'));
    const out = join(dir, 'tp.json');
    const lines: string[] = [];
    await runThroughput(
      { datasetName: 'custom', datasetPath: data, numPrompts: 10, inputLen: 0, outputLen: 3, rangeRatio: 0, prefixLen: 0, suffixLen: 0, numPrefixes: 1, seed: 0, maxNumSeqs: 4, outputJson: out },
      (s) => lines.push(s),
    );
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j).toMatchObject({ benchmark: 'throughput', dataset: 'custom', numRequests: 3, outputTokens: 4 + 5 + 3, numPreemptions: 0 });
    expect(j.engine.engineVersion).toBe('v1');
    expect(j.outputThroughput).toBeCloseTo(j.outputTokens / j.elapsedS, 9);
    expect(j.totalTokenThroughput).toBeCloseTo((j.inputTokens + j.outputTokens) / j.elapsedS, 9);
    expect(j.ttftMs.count).toBe(3);
    expect(j.specDecoding).toEqual({ numDraftTokens: 0, numAcceptedTokens: 0, acceptanceRate: 0 });
    expect(lines.join('\n')).toMatch(/output tok\/s/);
  }, 60_000);

  it('throughput with --speculative-config: drafts proposed on a repetitive workload and the acceptance reported', async () => {
    const data = join(dir, 'rep.jsonl');
    const verse = 'And God said, Let there be light: and there was light. And God saw the light, that it was good. ';
    writeFileSync(data, [JSON.stringify({ prompt: verse.repeat(3), output_tokens: 24 }), JSON.stringify({ prompt: verse.repeat(2), output_tokens: 24 })].join('\n'));
    const out = join(dir, 'tp-spec.json');
    const spec = jsonObjectArg<NonNullable<EngineFlags['speculativeConfig']>>('{"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4,"prompt_lookup_min":2}');
    await runThroughput(
      { datasetName: 'custom', datasetPath: data, numPrompts: 2, inputLen: 0, outputLen: 24, rangeRatio: 0, prefixLen: 0, suffixLen: 0, numPrefixes: 1, seed: 0, speculativeConfig: spec, outputJson: out },
      () => {},
    );
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.outputTokens).toBe(48);
    expect(j.specDecoding.numDraftTokens).toBeGreaterThan(0);
    expect(j.specDecoding.acceptanceRate).toBeCloseTo(j.specDecoding.numAcceptedTokens / j.specDecoding.numDraftTokens, 12);
  }, 60_000);

  it('refuses a --speculative-config that is not a JSON object, naming what was expected', () => {
    expect(() => jsonObjectArg('[1]')).toThrow(/must be a JSON object/);
    expect(() => jsonObjectArg('{nope')).toThrow(/must be a JSON object/);
  });

  it('latency: warm-up excluded, one latency per timed iteration (V0 engine, dummy weights)', async () => {
    const out = join(dir, 'lat.json');
    const r = await runLatency({ engineVersion: 'v0', loadFormat: 'dummy', seed: 1, batchSize: 2, inputLen: 8, outputLen: 4, numItersWarmup: 1, numIters: 3, outputJson: out }, () => {});
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j).toMatchObject({ benchmark: 'latency', batchSize: 2, engineVersion: 'v0' });
    expect(j.latencies).toHaveLength(3);
    expect(j.latencyS.count).toBe(3);
    expect(j.latencyS.percentiles.p99).toBeGreaterThanOrEqual(j.latencyS.median);
    expect(r.latencyS.mean).toBeGreaterThan(0);
  }, 60_000);
});
