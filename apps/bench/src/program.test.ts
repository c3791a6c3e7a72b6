import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildBenchProgram } from './program.js';

describe('vllm-ts-bench command line', () => {
  it('lists every subcommand', () => {
    expect(buildBenchProgram().commands.map((c) => c.name())).toEqual(['throughput', 'latency', 'serve', 'prefix-caching', 'compare', 'simulate']);
  });

  it('simulate parses its flags end to end and writes JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const out = join(dir, 's.json');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await buildBenchProgram().parseAsync(['simulate', '--num-prompts', '20', '--input-len', '300', '--output-len', '8', '--request-rate', '10', '--burstiness', '0.5', '--configs', 'v1,v0+cp', '--cost-model', 'flops=400e12', '--output-json', out], { from: 'user' });
    log.mockRestore();
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.results.map((r: { engine: string }) => r.engine)).toEqual(['v1', 'v0+cp']);
    expect(j.costModel.flops).toBe(400e12);
    expect(j.numRequests).toBe(20);
  });

  it('refuses an unknown configuration label, naming the known ones', async () => {
    const p = buildBenchProgram().exitOverride();
    await expect(p.parseAsync(['simulate', '--configs', 'v2', '--num-prompts', '1'], { from: 'user' })).rejects.toThrow(/v1\+pc, v1, v0/);
  });
});
