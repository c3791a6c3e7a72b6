import { describe, expect, it } from 'vitest';
import { fromBfloat16Bits, fromFloat16Bits, roundToDType, toBfloat16Bits, toFloat16Bits } from './dtype.js';

describe('16-bit conversions', () => {
  it('rounds float32 to bfloat16 to nearest even', () => {
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    expect([...toBfloat16Bits([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2, 0])]).toEqual([0x3f80, 0x3f80, 0x3f82, 0xc000, 0]);
    expect(toBfloat16Bits([Number.NaN])[0]).toBe(0x7fc0);
    expect([...fromBfloat16Bits(Uint16Array.of(0x3f80, 0xc000, 0x7f80))]).toEqual([1, -2, Infinity]);
  });

  it('rounds float32 to float16 to nearest even, with subnormals and overflow', () => {
    expect([...toFloat16Bits([1, -2, 65504, 70000, 2 ** -24, 2 ** -25, 1 + 2 ** -11])]).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x3c00,
    ]);
    expect([...fromFloat16Bits(Uint16Array.of(0x3c00, 0x0001, 0xfc00))]).toEqual([1, 2 ** -24, -Infinity]);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits([Number.NaN]))[0])).toBe(true);
  });

  it('round-trips every float16 and a sweep of bfloat16 patterns exactly', () => {
    const all = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
    expect([...toFloat16Bits(fromFloat16Bits(all))]).toEqual([...all]);
    const bf = Uint16Array.from({ length: 0x7f80 }, (_, i) => i);
    expect([...toBfloat16Bits(fromBfloat16Bits(bf))]).toEqual([...bf]);
  });

  it('roundToDType leaves float32 alone and is idempotent', () => {
    const x = Float32Array.of(0.1, 3.14159, -1e-3);
    expect([...roundToDType(Float32Array.from(x), 'float32')]).toEqual([...x]);
    const once = roundToDType(Float32Array.from(x), 'bfloat16');
    expect([...roundToDType(Float32Array.from(once), 'bfloat16')]).toEqual([...once]);
  });
});
