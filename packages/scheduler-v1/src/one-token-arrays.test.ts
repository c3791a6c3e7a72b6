import { describe, expect, it } from 'vitest';
import { OneTokenArrays } from './one-token-arrays.js';

describe('OneTokenArrays', () => {
  it('hands out one frozen [id] per token id', () => {
    const t = new OneTokenArrays();
    const a = t.get(17);
    expect(a).toEqual([17]);
    expect(t.get(17)).toBe(a);
    expect(t.get(18)).toEqual([18]);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => (a as number[]).push(1)).toThrow(TypeError);
  });

  it('builds a fresh array for ids outside its table', () => {
    const t = new OneTokenArrays();
    const big = 2 ** 30;
    expect(t.get(big)).toEqual([big]);
    expect(t.get(big)).not.toBe(t.get(big));
  });
});
