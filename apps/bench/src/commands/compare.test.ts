import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCompare } from './compare.js';
import { runPrefixCaching } from './prefix-caching.js';

describe('compare and prefix-caching on the CPU backend', () => {
  it('compare: two configurations, rotated repetitions, markdown, chart and JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-cmp-'));
    const r = await runCompare(
      { datasetName: 'random', numPrompts: 3, inputLen: 16, outputLen: 4, rangeRatio: 0, prefixLen: 16, suffixLen: 0, numPrefixes: 1, seed: 0, configs: 'v1+pc,v0', numReps: 2, maxNumSeqs: 4, outputDir: dir, outputJson: join(dir, 'out.json') },
      () => {},
    );
    const j = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    expect(j.baseline).toBe('v0');
    expect(j.rows.map((x: { config: string }) => x.config)).toEqual(['v1+pc', 'v0']);
    for (const row of j.rows) expect(row.outputThroughputs).toHaveLength(2);
    expect(j.rows[1].speedup).toBe(1);
    expect(j.v1OverV0).toBeCloseTo(j.rows[0].medianOutputThroughput / j.rows[1].medianOutputThroughput, 9);
    // Same 16-token prefix in every prompt: V1 with caching serves it from the cache, V0 without caching never does.
    expect(j.rows[0].cachedTokenFraction).toBeGreaterThan(0);
    expect(j.rows[1].cachedTokenFraction).toBe(0);
    expect(r.markdown).toMatch(/\| v1\+pc \|/);
    expect(r.markdown).toMatch(/V1 (beat V0 here by|was [\d.]+% slower than V0 here)/);
    expect(j.pairedRatios).toHaveLength(2);
    expect(j.verdict).toContain('v1+pc');
    expect(readFileSync(join(dir, 'compare.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(existsSync(join(dir, 'compare.svg'))).toBe(true);
    expect(existsSync(join(dir, 'compare.md'))).toBe(true);
  }, 90_000);

  it('prefix-caching: hit rate grows with the shared ratio, none at 0%', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-pc-'));
    const r = await runPrefixCaching({ loadFormat: 'dummy', seed: 0, numPrompts: 3, inputLen: 64, outputLen: 2, ratios: [0, 50, 75], maxNumSeqs: 4, outputDir: dir, outputJson: join(dir, 'pc.json') }, () => {});
    const j = JSON.parse(readFileSync(join(dir, 'pc.json'), 'utf8'));
    expect(j.rows.map((x: { ratioPercent: number }) => x.ratioPercent)).toEqual([0, 50, 75]);
    expect(j.rows[0].hitRate).toBe(0);
    expect(j.rows[1].hitRate).toBeGreaterThan(0);
    expect(j.rows[2].hitRate).toBeGreaterThan(j.rows[1].hitRate);
    for (const row of j.rows) {
      expect(row.off.numCachedTokens).toBe(0);
      expect(row.speedup).toBeCloseTo(row.off.elapsedS / row.on.elapsedS, 9);
    }
    expect(r.chart).not.toBeNull();
  }, 90_000);
});
