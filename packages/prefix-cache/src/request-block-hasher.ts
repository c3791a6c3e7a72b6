import { InvalidArgumentError, type BlockHash } from '@vllm-ts/core';
import type { BlockHasher, ExtraKey } from './block-hasher.js';

/** What, besides the tokens, keys a request's prefix-cache chain. */
export interface BlockHashKeys {
  /** Salt that isolates a tenant: requests with different salts never share blocks. */
  readonly cacheSalt?: string | null;
  /** LoRA adapter name: KV computed under one adapter is not valid under another. */
  readonly loraName?: string | null;
}

/**
 * The extra keys of a request's first block: the LoRA name and the cache salt, tagged so one can
 * never be mistaken for the other. Later blocks need none: the chain carries them.
 * @param keys the request's salt and LoRA name
 * @returns the keys, or null when there are none
 */
export function firstBlockExtraKeys(keys: BlockHashKeys): ExtraKey[] | null {
  const out: ExtraKey[] = [];
  if (keys.loraName != null) out.push(`lora:${keys.loraName}`);
  if (keys.cacheSalt != null) out.push(`salt:${keys.cacheSalt}`);
  return out.length === 0 ? null : out;
}

/**
 * Keeps one request's `blockHashes` current as its tokens grow: each call hashes the blocks that
 * became full since the last one (only full blocks are ever hashed), chaining from the last hash.
 *
 * @example
 * ```ts
 * const hasher = new RequestBlockHasher(new BlockHasher(), 16, { cacheSalt: 'tenant-a' });
 * const hashes: BlockHash[] = [];
 * hasher.extend(promptTokenIds, hashes);   // one hash per full prompt block
 * // ... append output tokens, then:
 * hasher.extend(allTokenIds, hashes);      // hashes of blocks that filled up meanwhile
 * ```
 */
export class RequestBlockHasher {
  /** Tokens per block. */
  readonly blockSize: number;
  private readonly hasher: BlockHasher;
  private readonly firstExtras: ExtraKey[] | null;

  /**
   * @param hasher the engine's block hasher (one algorithm and seed for every request)
   * @param blockSize tokens per block
   * @param keys the request's cache salt and LoRA name
   * @throws InvalidArgumentError (`invalid_option`) when blockSize is not a positive integer
   */
  constructor(hasher: BlockHasher, blockSize: number, keys: BlockHashKeys = {}) {
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new InvalidArgumentError('invalid_option', 'RequestBlockHasher', 'blockSize', 'an integer >= 1', blockSize);
    }
    this.hasher = hasher;
    this.blockSize = blockSize;
    this.firstExtras = firstBlockExtraKeys(keys);
  }

  /**
   * Appends to `blockHashes` the hashes of the full blocks of `tokenIds` not hashed yet.
   * @param tokenIds all of the request's tokens so far (prompt then outputs, no drafts)
   * @param blockHashes the request's hashes so far (this hasher's earlier output); extended in place
   * @param length how many of `tokenIds` are the request's (default all: lets a caller keep its
   *   tokens in a growable buffer with spare capacity)
   * @returns how many hashes were added
   */
  extend(tokenIds: ArrayLike<number>, blockHashes: BlockHash[], length: number = tokenIds.length): number {
    const bs = this.blockSize;
    const numFull = Math.floor(length / bs);
    const before = blockHashes.length;
    for (let i = before; i < numFull; i++) {
      const parent = i === 0 ? null : blockHashes[i - 1]!;
      blockHashes.push(this.hasher.hashBlock(parent, tokenIds, i * bs, (i + 1) * bs, i === 0 ? this.firstExtras : null));
    }
    return numFull - before;
  }
}
