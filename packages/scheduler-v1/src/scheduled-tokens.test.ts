import { requestId, VllmError } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { ScheduledTokens } from './scheduled-tokens.js';

const id = requestId;

function filled(): ScheduledTokens {
  const m = new ScheduledTokens();
  m.push(id('a'), 3);
  m.push(id('b'), 1);
  m.push(id('c'), 7);
  return m;
}

describe('ScheduledTokens (numScheduledTokens)', () => {
  it('iterates in batch order and looks up like a Map', () => {
    const m = filled();
    expect(m.size).toBe(3);
    expect([...m]).toEqual([
      ['a', 3],
      ['b', 1],
      ['c', 7],
    ]);
    expect([...m.keys()]).toEqual(['a', 'b', 'c']);
    expect([...m.values()]).toEqual([3, 1, 7]);
    const seen: string[] = [];
    m.forEach((n, k, map) => {
      expect(map).toBe(m);
      seen.push(`${k}=${n}`);
    });
    expect(seen).toEqual(['a=3', 'b=1', 'c=7']);
    expect(m.get(id('b'))).toBe(1);
    expect(m.has(id('c'))).toBe(true);
    expect(m.get(id('z'))).toBeUndefined();
    expect(m instanceof Map).toBe(true);
    expect(new Map(m)).toEqual(new Map([[id('a'), 3], [id('b'), 1], [id('c'), 7]]));
  });

  it('removes and adds entries while the step is built', () => {
    const m = filled();
    m.remove(id('b'));
    expect([...m.keys()]).toEqual(['a', 'c']);
    expect(m.has(id('b'))).toBe(false);
    m.remove(id('a'));
    expect(m.get(id('a'))).toBeUndefined();
    expect(m.size).toBe(1);
    m.remove(id('nobody'));
    expect([...m]).toEqual([['c', 7]]);
    m.push(id('d'), 2);
    expect(m.get(id('d'))).toBe(2);
    expect([...m.keys()]).toEqual(['c', 'd']);
  });

  it('fills its native map only when looked up, and crosses a thread boundary as a copy', () => {
    const m = filled();
    m.push(id('d'), 2);
    expect(structuredClone(new Map(m))).toEqual(new Map([['a', 3], ['b', 1], ['c', 7], ['d', 2]]));
    expect(structuredClone(m as Map<string, number>).size).toBe(0);
    expect(m.has(id('d'))).toBe(true);
    m.remove(id('b'));
    expect(m.get(id('b'))).toBeUndefined();
    m.push(id('e'), 5);
    expect(m.get(id('e'))).toBe(5);
    expect(structuredClone(m as Map<string, number>)).toEqual(new Map([['a', 3], ['c', 7], ['d', 2], ['e', 5]]));
  });

  it('refuses edits by consumers with a typed error', () => {
    const m = filled();
    expect(() => m.set(id('d'), 1)).toThrow(VllmError);
    expect(() => m.delete(id('a'))).toThrow(/read-only/);
    expect(() => m.clear()).toThrow(/read-only/);
    expect(m.size).toBe(3);
  });
});
