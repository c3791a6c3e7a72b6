import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { customDataset, prefixRepetitionDataset, randomDataset, sonnetDataset } from './datasets.js';

describe('datasets', () => {
  it('random: exact lengths, shared prefix, ids in range, same seed same prompts', () => {
    const a = randomDataset({ numPrompts: 5, inputLen: 20, outputLen: 7, prefixLen: 8, vocabSize: 100, seed: 3 });
    expect(a.map((r) => r.promptTokenIds.length)).toEqual([28, 28, 28, 28, 28]);
    expect(a.every((r) => r.outputLen === 7)).toBe(true);
    expect(new Set(a.map((r) => r.promptTokenIds.slice(0, 8).join())).size).toBe(1);
    expect(new Set(a.map((r) => r.promptTokenIds.slice(8).join())).size).toBe(5);
    expect(a.flatMap((r) => r.promptTokenIds).every((t) => t >= 16 && t < 100)).toBe(true);
    expect(randomDataset({ numPrompts: 5, inputLen: 20, outputLen: 7, prefixLen: 8, vocabSize: 100, seed: 3 })).toEqual(a);
  });

  it('random: range ratio spreads lengths within bounds', () => {
    const a = randomDataset({ numPrompts: 200, inputLen: 100, outputLen: 10, rangeRatio: 0.5, vocabSize: 1000 });
    const lens = a.map((r) => r.promptTokenIds.length);
    expect(Math.min(...lens)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...lens)).toBeLessThanOrEqual(150);
    expect(new Set(lens).size).toBeGreaterThan(20);
    expect(() => randomDataset({ numPrompts: 1, inputLen: 1, outputLen: 1, rangeRatio: 1, vocabSize: 10 })).toThrow(/rangeRatio/);
  });

  it('prefix-repetition: prompt i uses prefix i % numPrefixes', () => {
    const a = prefixRepetitionDataset({ numPrompts: 6, prefixLen: 10, suffixLen: 5, numPrefixes: 3, outputLen: 4, vocabSize: 500 });
    const pre = a.map((r) => r.promptTokenIds.slice(0, 10).join());
    expect(pre[0]).toBe(pre[3]);
    expect(pre[1]).toBe(pre[4]);
    expect(new Set(pre).size).toBe(3);
  });

  it('sonnet: starts with the same lines and reaches the input length', () => {
    const encode = (t: string) => t.split(/\s+/).map((w) => w.length);
    const a = sonnetDataset({ numPrompts: 4, inputLen: 40, prefixLines: 2, outputLen: 5, encode });
    for (const r of a) {
      expect(r.prompt!.startsWith("Shall I compare thee to a summer's day?\nThou art")).toBe(true);
      expect(r.promptTokenIds.length).toBeGreaterThanOrEqual(40);
    }
  });

  it('custom: text and token-id lines, named errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-ds-'));
    const f = join(dir, 'd.jsonl');
    writeFileSync(f, '{"prompt":"hello world","output_tokens":3}\n\n{"prompt_token_ids":[5,6,7]}\n');
    const a = customDataset(f, (t) => t.split(' ').map((w) => w.length), 9);
    expect(a).toEqual([
      { prompt: 'hello world', promptTokenIds: [5, 5], outputLen: 3 },
      { promptTokenIds: [5, 6, 7], outputLen: 9 },
    ]);
    writeFileSync(f, '{"prompt":""}\n');
    expect(() => customDataset(f, () => [], 1)).toThrow(/line 1/);
  });
});
