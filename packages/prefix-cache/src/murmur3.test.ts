import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3x86_128, murmur3x86_128Bytes } from './murmur3.js';

function hex(bytes: Uint8Array, seed = 0): string {
  const out = new Uint32Array(4);
  murmur3x86_128Bytes(bytes, seed, out);
  return [...out].map((w) => w.toString(16).padStart(8, '0')).join('');
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('MurmurHash3 x86_128 against published vectors', () => {
  // h1..h4 as big-endian hex words, the format of the widely used murmurhash3js outputs.
  it.each([
    ['', 0, '00000000000000000000000000000000'],
    ['0', 0, '0ab2409ea5eb34f8a5eb34f8a5eb34f8'],
    ['The quick brown fox jumps over the lazy dog', 0, '2f1583c3ecee2c675d7bf66ce5e91d2c'],
    ['MurmurHash3 was written by Austin Appleby, and is placed in the public', 0, '6d3583489d9d1e5a898493af67e2ad10'],
  ])('hash of %j with seed %d', (input, seed, expected) => {
    expect(hex(text(input), seed)).toBe(expected);
  });

  it("passes SMHasher's verification test (0xB3ECE62A)", () => {
    // Keys 0..255 bytes long with key[i] = i, seed 256 - length; hash the concatenated
    // little-endian digests with seed 0; the first 4 bytes, little-endian, are the check value.
    const key = Uint8Array.from({ length: 256 }, (_, i) => i);
    const digests = new Uint8Array(16 * 256);
    const view = new DataView(digests.buffer);
    const out = new Uint32Array(4);
    for (let len = 0; len < 256; len++) {
      murmur3x86_128Bytes(key.subarray(0, len), 256 - len, out);
      for (let w = 0; w < 4; w++) view.setUint32(16 * len + 4 * w, out[w]!, true);
    }
    murmur3x86_128Bytes(digests, 0, out);
    expect(out[0]!.toString(16)).toBe('b3ece62a');
  });

  it('the word variant equals the byte variant on the words little-endian bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 40 }), fc.nat({ max: 0xffffffff }), (ws, seed) => {
        const words = Uint32Array.from(ws);
        const viaWords = new Uint32Array(4);
        const viaBytes = new Uint32Array(4);
        murmur3x86_128(words, words.length, seed, viaWords);
        murmur3x86_128Bytes(new Uint8Array(words.buffer), seed, viaBytes);
        expect([...viaWords]).toEqual([...viaBytes]);
      }),
    );
  });
});
