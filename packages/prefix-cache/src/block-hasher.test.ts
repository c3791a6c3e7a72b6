import type { BlockHash } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockHasher, digestWord, HASH_ALGORITHMS } from './block-hasher.js';
import { RequestBlockHasher, firstBlockExtraKeys } from './request-block-hasher.js';

describe.each(HASH_ALGORITHMS)('BlockHasher (%s)', (algorithm) => {
  const hasher = new BlockHasher({ algorithm, hashSeed: 'seed' });

  it('is reproducible with a seed and random without one', () => {
    const again = new BlockHasher({ algorithm, hashSeed: 'seed' });
    expect(again.noneHash).toBe(hasher.noneHash);
    expect(again.hashBlock(null, [1, 2, 3])).toBe(hasher.hashBlock(null, [1, 2, 3]));
    const other = new BlockHasher({ algorithm, hashSeed: 'other' });
    expect(other.hashBlock(null, [1, 2, 3])).not.toBe(hasher.hashBlock(null, [1, 2, 3]));
    const r1 = new BlockHasher({ algorithm });
    const r2 = new BlockHasher({ algorithm });
    expect(r1.noneHash).not.toBe(r2.noneHash);
    expect(hasher.noneHash).toMatch(algorithm === 'sha256' ? /^[\w-]{43}$/ : /^[\s\S]{8}$/);
  });

  it('chains: the same tokens under a different parent hash differently', () => {
    const a = hasher.hashBlock(null, [1, 2, 3, 4]);
    const b = hasher.hashBlock(null, [9, 9, 9, 9]);
    expect(hasher.hashBlock(a, [5, 6, 7, 8])).not.toBe(hasher.hashBlock(b, [5, 6, 7, 8]));
    expect(hasher.hashBlock(a, [5, 6, 7, 8])).toBe(hasher.hashBlock(a, [0, 5, 6, 7, 8, 0], 1, 5));
  });

  it('separates extra keys, token counts and token values', () => {
    const seen = new Set<string>();
    const cases: [number[], (string | number)[] | null][] = [
      [[1, 2], null],
      [[1, 2], ['salt:a']],
      [[1, 2], ['salt:b']],
      [[1, 2], ['lora:a']],
      [[1, 2, 0], null],
      [[2, 1], null],
      [[1], null],
      [[], null],
      [[0x1_0000 + 1, 2], null],
    ];
    for (const [tokens, extras] of cases) seen.add(hasher.hashBlock(null, tokens, 0, tokens.length, extras));
    expect(seen.size).toBe(cases.length);
    expect(hasher.hashBlock(null, [1, 2], 0, 2, [])).toBe(hasher.hashBlock(null, [1, 2]));
  });

  it('finds no collisions among random distinct blocks', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.array(fc.nat(200_000), { minLength: 4, maxLength: 4 }), {
          selector: (a) => a.join(','),
          minLength: 50,
          maxLength: 50,
        }),
        (blocks) => {
          const hashes = new Set(blocks.map((t) => hasher.hashBlock(null, t)));
          expect(hashes.size).toBe(blocks.length);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('RequestBlockHasher', () => {
  const hasher = new BlockHasher({ hashSeed: '0' });

  it('hashes only full blocks, incrementally, with keys on the first block', () => {
    const rh = new RequestBlockHasher(hasher, 4, { cacheSalt: 's', loraName: 'l' });
    const hashes: BlockHash[] = [];
    const tokens = [1, 2, 3, 4, 5, 6, 7];
    expect(rh.extend(tokens, hashes)).toBe(1);
    expect(hashes).toEqual([hasher.hashBlock(null, [1, 2, 3, 4], 0, 4, ['lora:l', 'salt:s'])]);
    tokens.push(8);
    expect(rh.extend(tokens, hashes)).toBe(1);
    expect(hashes[1]).toBe(hasher.hashBlock(hashes[0]!, [5, 6, 7, 8]));
    expect(rh.extend(tokens, hashes)).toBe(0);
    // Incremental equals all-at-once.
    const once: BlockHash[] = [];
    new RequestBlockHasher(hasher, 4, { cacheSalt: 's', loraName: 'l' }).extend(tokens, once);
    expect(once).toEqual(hashes);
  });

  it('keeps tenants apart: a different salt changes every hash of the chain', () => {
    const tokens = Array.from({ length: 12 }, (_, i) => i);
    const a: BlockHash[] = [];
    const b: BlockHash[] = [];
    new RequestBlockHasher(hasher, 4, { cacheSalt: 'a' }).extend(tokens, a);
    new RequestBlockHasher(hasher, 4, { cacheSalt: 'b' }).extend(tokens, b);
    a.forEach((h, i) => expect(h).not.toBe(b[i]));
    expect(firstBlockExtraKeys({})).toBeNull();
    expect(firstBlockExtraKeys({ loraName: 'x' })).toEqual(['lora:x']);
  });

  it('refuses bad options', () => {
    expect(() => new RequestBlockHasher(hasher, 0)).toThrow(/blockSize must be an integer >= 1 \(got 0\)/);
    expect(() => new BlockHasher({ algorithm: 'md5' as never })).toThrow(/algorithm must be one of sha256, murmur3_128/);
  });
});

describe('BlockHasher.hashAfterDigest (murmur3_128)', () => {
  it('equals hashBlock with the parent string, for any parent and tokens', () => {
    const hasher = new BlockHasher({ algorithm: 'murmur3_128', hashSeed: 'seed' });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 33 }), (first, tokens) => {
        const parent = hasher.hashBlock(null, first);
        const want = hasher.hashBlock(parent, tokens);
        const got = hasher.hashAfterDigest(digestWord(parent, 0), digestWord(parent, 1), digestWord(parent, 2), digestWord(parent, 3), [7, ...tokens], 1, tokens.length + 1);
        expect(got).toBe(want);
        expect([0, 1, 2, 3].map((i) => hasher.lastDigest[i]! | 0)).toEqual([0, 1, 2, 3].map((i) => digestWord(got, i)));
      }),
    );
  });

  it('is refused under sha256', () => {
    const hasher = new BlockHasher({ algorithm: 'sha256', hashSeed: 'seed' });
    expect(() => hasher.hashAfterDigest(0, 0, 0, 0, [1], 0, 1)).toThrow(/murmur3_128/);
  });
});
