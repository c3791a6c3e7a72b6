import { expect, it } from 'vitest';

it('exports exactly the documented surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "BlockHasher",
      "BlockList",
      "HASH_ALGORITHMS",
      "KVCacheManager",
      "LruEvictor",
      "PrefixCachingBlockSpaceManager",
      "RequestBlockHasher",
      "digestWord",
      "firstBlockExtraKeys",
      "hashFromDigest",
    ]
  `);
});
