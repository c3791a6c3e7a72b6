// Public surface of @vllm-ts/prefix-cache.
export { BlockHasher, digestWord, HASH_ALGORITHMS, hashFromDigest } from './block-hasher.js';
export type { BlockHasherOptions, HashAlgorithm, ExtraKey } from './block-hasher.js';
export { RequestBlockHasher, firstBlockExtraKeys } from './request-block-hasher.js';
export type { BlockHashKeys } from './request-block-hasher.js';
export { KVCacheManager } from './kv-cache-manager.js';
export type { BlockHashTail, KVCacheManagerOptions, KVCacheStateHolder } from './kv-cache-manager.js';
export { BlockList } from './kv-cache-blocks.js';
// V0 flavour (scheduler-v0): prefix-caching block space manager and its LRU evictor.
export { PrefixCachingBlockSpaceManager } from './v0/prefix-caching-block-space-manager.js';
export type { PrefixCachingBlockSpaceManagerOptions } from './v0/prefix-caching-block-space-manager.js';
export { LruEvictor } from './v0/lru-evictor.js';
