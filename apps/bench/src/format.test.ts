import { describe, expect, it } from 'vitest';
import { fmt, markdownTable, textTable } from './format.js';

describe('tables', () => {
  it('formats integers, small values and decimals', () => {
    expect([fmt(12), fmt(0.023456), fmt(7.6), fmt('x'), fmt(Infinity)]).toEqual(['12', '0.0235', '7.60', 'x', 'Infinity']);
  });

  it('aligns numbers right and text left', () => {
    expect(textTable(['name', 'value'], [['a', 1.5], ['long', 100]])).toBe(['name  value', '----  -----', 'a      1.50', 'long    100'].join('\n'));
    expect(markdownTable(['name', 'value'], [['a', 2]])).toBe(['| name | value |', '| --- | ---: |', '| a | 2 |'].join('\n'));
  });
});
