/**
 * MurmurHash3, x86 128-bit variant, over 32-bit words: identical to hashing the words'
 * little-endian bytes. Non-cryptographic: fast, well mixed, but collisions can be crafted.
 * @internal
 */
export function murmur3x86_128(words: Uint32Array, length: number, seed: number, out: Uint32Array): void {
  hashWords(words, length * 4, seed, out);
}

/**
 * MurmurHash3 x86 128-bit over bytes (any length), as the reference implementation defines it;
 * `out` receives h1..h4 (their little-endian bytes are the 16-byte digest).
 * @internal
 */
export function murmur3x86_128Bytes(bytes: Uint8Array, seed: number, out: Uint32Array): void {
  const words = new Uint32Array((bytes.length + 3) >> 2);
  for (let i = 0; i < bytes.length; i++) words[i >> 2] = words[i >> 2]! | (bytes[i]! << ((i & 3) * 8));
  hashWords(words, bytes.length, seed, out);
}

// `words` holds the input's bytes little-endian, the last word zero-padded.
function hashWords(words: Uint32Array, byteLength: number, seed: number, out: Uint32Array): void {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const full = (byteLength >> 4) << 2;
  let i = 0;
  for (; i < full; i += 4) {
    let k1 = words[i]!;
    let k2 = words[i + 1]!;
    let k3 = words[i + 2]!;
    let k4 = words[i + 3]!;
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  const tailBytes = byteLength & 15;
  if (tailBytes > 12) h4 ^= Math.imul(rotl(Math.imul(words[i + 3]!, C4), 18), C1);
  if (tailBytes > 8) h3 ^= Math.imul(rotl(Math.imul(words[i + 2]!, C3), 17), C4);
  if (tailBytes > 4) h2 ^= Math.imul(rotl(Math.imul(words[i + 1]!, C2), 16), C3);
  if (tailBytes > 0) h1 ^= Math.imul(rotl(Math.imul(words[i]!, C1), 15), C2);
  h1 ^= byteLength;
  h2 ^= byteLength;
  h3 ^= byteLength;
  h4 ^= byteLength;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  out[0] = h1;
  out[1] = h2 + h1;
  out[2] = h3 + h1;
  out[3] = h4 + h1;
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789 | 0;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
