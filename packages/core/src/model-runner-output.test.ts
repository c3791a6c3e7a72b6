import { describe, expect, it } from 'vitest';
import { requestId } from './ids.js';
import { SampledTokenIds, sampledTokenColumnsOf, type ModelRunnerOutput } from './model-runner-output.js';

const id = requestId;

function output(sampled: ReadonlyMap<ReturnType<typeof id>, readonly number[]>): ModelRunnerOutput {
  return { sampledTokenIds: sampled, logprobs: new Map(), promptLogprobs: new Map() };
}

describe('SampledTokenIds', () => {
  it('keeps rows as columns in append order, growing past its capacity', () => {
    const s = new SampledTokenIds(1);
    s.appendOne(id('a'), 7);
    s.append(id('b'), []);
    s.append(id('c'), [5, 9, 12]);
    for (let i = 0; i < 40; i++) s.appendOne(id(`x${i}`), i);
    expect(s.size).toBe(43);
    expect(s.reqIds.slice(0, 3)).toEqual(['a', 'b', 'c']);
    expect(Array.from(s.offsets.subarray(0, 4))).toEqual([0, 1, 1, 4]);
    expect(Array.from(s.tokenIds.subarray(0, 4))).toEqual([7, 5, 9, 12]);
    expect(s.offsets[43]).toBe(44);
    expect(s.tokenIds[43]).toBe(39);
  });

  it('reads like a ReadonlyMap, a later row shadowing an earlier one', () => {
    const s = new SampledTokenIds();
    s.appendOne(id('a'), 7);
    s.append(id('b'), [5, 9]);
    expect(s.get(id('a'))).toEqual([7]);
    expect(s.get(id('a'))).toBe(s.get(id('a')));
    expect(s.has(id('b'))).toBe(true);
    expect(s.get(id('z'))).toBeUndefined();
    s.append(id('a'), [8]);
    s.append(id('c'), []);
    expect(s.get(id('a'))).toEqual([8]);
    expect(s.get(id('c'))).toEqual([]);
    expect([...s]).toEqual([
      ['a', [8]],
      ['b', [5, 9]],
      ['c', []],
    ]);
    expect([...s.keys()]).toEqual(['a', 'b', 'c']);
    expect([...s.values()]).toEqual([[8], [5, 9], []]);
    const seen: string[] = [];
    s.forEach((tokens, key, map) => {
      expect(map).toBe(s);
      seen.push(`${key}=${tokens.join('/')}`);
    });
    expect(seen).toEqual(['a=8', 'b=5/9', 'c=']);
    expect(new Map(s)).toEqual(new Map([[id('a'), [8]], [id('b'), [5, 9]], [id('c'), []]]));
  });

  it('is found behind a runner output, and a plain map is not', () => {
    const s = new SampledTokenIds();
    expect(sampledTokenColumnsOf(output(s))).toBe(s);
    expect(sampledTokenColumnsOf(output(new Map([[id('a'), [1]]])))).toBeNull();
  });
});
