import { hash as oneShotHash, randomBytes } from 'node:crypto';
import { InvalidArgumentError, invariant, type BlockHash } from '@vllm-ts/core';
import { murmur3x86_128 } from './murmur3.js';

/**
 * How block hashes are computed.
 * - `sha256` (default): SHA-256, collision-resistant; hashes are base64url strings of 43 characters.
 * - `murmur3_128`: MurmurHash3 x86 128-bit, faster, not collision-resistant (a crafted prompt
 *   could alias another tenant's block); hashes are 8 UTF-16 code units holding the 128 bits
 *   (compact map keys; not printable).
 */
export type HashAlgorithm = 'sha256' | 'murmur3_128';

/** The algorithms {@link BlockHasher} accepts. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = Object.freeze(['sha256', 'murmur3_128']);

/** One extra key mixed into a block's hash (LoRA name, cache salt, multimodal ids, ...). */
export type ExtraKey = string | number;

/** Options of {@link BlockHasher}. */
export interface BlockHasherOptions {
  /** Default `sha256`. */
  readonly algorithm?: HashAlgorithm;
  /**
   * Seed of the first block's parent hash. Given, hashes are reproducible across processes (like
   * vLLM with `PYTHONHASHSEED`); null or absent, the parent is random per hasher, so hashes cannot
   * be predicted from outside.
   */
  readonly hashSeed?: string | null;
}

/**
 * Computes chained block hashes: `hash(parent, tokens of one full block, extra keys)`, where the
 * parent of the first block is {@link BlockHasher.noneHash}. Equal hashes mean equal prefixes (up
 * to the algorithm's collision resistance), so a hash identifies a block's KV content.
 *
 * Encoding (unambiguous): the parent hash and its length, the token count and the token ids as
 * 32-bit words, then the extra keys as JSON when present.
 *
 * @example
 * ```ts
 * const hasher = new BlockHasher({ algorithm: 'sha256', hashSeed: '0' });
 * const h0 = hasher.hashBlock(null, [1, 2, 3, 4], 0, 4, ['salt:tenant-a']);
 * const h1 = hasher.hashBlock(h0, [5, 6, 7, 8]);
 * ```
 */
export class BlockHasher {
  /** The algorithm in use. */
  readonly algorithm: HashAlgorithm;
  /** Parent hash of every chain's first block. */
  readonly noneHash: BlockHash;
  private words = new Uint32Array(64);
  private readonly digest = new Uint32Array(4);

  /**
   * @param options algorithm and seed
   * @throws InvalidArgumentError (`invalid_option`) for an unknown algorithm or a non-string seed
   */
  constructor(options: BlockHasherOptions = {}) {
    const algorithm = options.algorithm ?? 'sha256';
    if (!HASH_ALGORITHMS.includes(algorithm)) {
      throw new InvalidArgumentError('invalid_option', 'BlockHasher', 'algorithm', `one of ${HASH_ALGORITHMS.join(', ')}`, algorithm);
    }
    const seed = options.hashSeed ?? null;
    if (seed !== null && typeof seed !== 'string') {
      throw new InvalidArgumentError('invalid_option', 'BlockHasher', 'hashSeed', 'a string or null', seed);
    }
    this.algorithm = algorithm;
    const seedText = seed ?? randomBytes(32).toString('base64');
    this.noneHash = this.hashParts('' as BlockHash, [], 0, 0, [`seed:${seedText}`]);
  }

  /**
   * Hash of the block holding `tokenIds[start..end)`, chained to `parent`.
   * @param parent the previous block's hash; null for a first block (uses {@link noneHash})
   * @param tokenIds token ids (integers in [0, 2^32))
   * @param start first token of the block
   * @param end one past its last token
   * @param extraKeys keys that must also match (null or empty: none)
   * @returns the block hash
   */
  hashBlock(
    parent: BlockHash | null,
    tokenIds: ArrayLike<number>,
    start = 0,
    end = tokenIds.length,
    extraKeys: readonly ExtraKey[] | null = null,
  ): BlockHash {
    return this.hashParts(parent ?? this.noneHash, tokenIds, start, end, extraKeys);
  }

  /**
   * `murmur3_128` only: {@link hashBlock} with the parent given as its four digest words (see
   * {@link digestWord}) instead of its string, for callers that keep a chain's last digest in hot
   * memory (reading the parent string is a cache miss per block). Same result as `hashBlock`.
   * @param p0 the parent's digest word 0 (as int32 or uint32)
   * @param p1 word 1
   * @param p2 word 2
   * @param p3 word 3
   * @param tokenIds token ids (integers in [0, 2^32))
   * @param start first token of the block
   * @param end one past its last token
   * @returns the block hash; its digest words are then in {@link lastDigest}
   * @throws InternalError when the algorithm is not `murmur3_128`
   */
  hashAfterDigest(p0: number, p1: number, p2: number, p3: number, tokenIds: ArrayLike<number>, start: number, end: number): BlockHash {
    this.digestAfter(p0, p1, p2, p3, tokenIds, start, end);
    return digestString(this.digest);
  }

  /**
   * {@link hashAfterDigest} without making the hash's string: the digest words land in
   * {@link lastDigest} only (see {@link hashFromDigest} for the string, when it is needed).
   * @param p0 the parent's digest word 0 (as int32 or uint32)
   * @param p1 word 1
   * @param p2 word 2
   * @param p3 word 3
   * @param tokenIds token ids (integers in [0, 2^32))
   * @param start first token of the block
   * @param end one past its last token
   * @throws InternalError when the algorithm is not `murmur3_128`
   */
  digestAfter(p0: number, p1: number, p2: number, p3: number, tokenIds: ArrayLike<number>, start: number, end: number): void {
    invariant(this.algorithm === 'murmur3_128', 'hashAfterDigest and digestAfter are for murmur3_128 chains');
    const count = end - start;
    const n = 5 + count;
    const words = this.ensureWords(n);
    words[0] = p0;
    words[1] = p1;
    words[2] = p2;
    words[3] = p3;
    words[4] = count;
    for (let i = 0; i < count; i++) words[5 + i] = tokenIds[start + i]!;
    murmur3x86_128(words, n, 0, this.digest);
  }

  /** The digest words of the last `murmur3_128` hash computed (read right after the call). */
  get lastDigest(): Readonly<Uint32Array> {
    return this.digest;
  }

  private hashParts(
    parent: BlockHash,
    tokenIds: ArrayLike<number>,
    start: number,
    end: number,
    extraKeys: readonly ExtraKey[] | null,
  ): BlockHash {
    const extras = extraKeys !== null && extraKeys.length > 0 ? JSON.stringify(extraKeys) : '';
    const count = end - start;
    if (this.algorithm === 'sha256') {
      // One buffer: parent (latin1, padded to a multiple of 4), parent length, count, tokens, extras.
      const parentWords = (parent.length + 3) >> 2;
      const extrasBytes = Buffer.byteLength(extras, 'utf8');
      const words = this.ensureWords(parentWords + 2 + count + ((extrasBytes + 3) >> 2));
      const bytes = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
      words.fill(0, 0, parentWords);
      bytes.write(parent, 0, 'latin1');
      words[parentWords] = parent.length;
      words[parentWords + 1] = count;
      const base = parentWords + 2;
      for (let i = 0; i < count; i++) words[base + i] = tokenIds[start + i]!;
      let end = (base + count) * 4;
      if (extrasBytes > 0) end += bytes.write(extras, end, 'utf8');
      return oneShotHash('sha256', bytes.subarray(0, end), 'base64url') as BlockHash;
    }
    // murmur3_128: parent (4 words, or 0 for the seed), count, tokens, extras' UTF-16 code units.
    const parentWords = parent === '' ? 0 : 4;
    const n = parentWords + 1 + count + extras.length;
    const words = this.ensureWords(n);
    for (let i = 0; i < parentWords; i++) words[i] = parent.charCodeAt(2 * i) | (parent.charCodeAt(2 * i + 1) << 16);
    words[parentWords] = count;
    const base = parentWords + 1;
    for (let i = 0; i < count; i++) words[base + i] = tokenIds[start + i]!;
    for (let i = 0; i < extras.length; i++) words[base + count + i] = extras.charCodeAt(i);
    const d = this.digest;
    murmur3x86_128(words, n, 0, d);
    return digestString(d);
  }

  private ensureWords(n: number): Uint32Array {
    if (this.words.length < n) this.words = new Uint32Array(Math.max(n, this.words.length * 2));
    return this.words;
  }
}

/**
 * Word `i` (0-3) of a `murmur3_128` hash's digest, as an int32: what {@link BlockHasher.hashAfterDigest}
 * takes for the parent.
 * @param hash a `murmur3_128` block hash
 * @param i the word, 0 to 3
 * @returns the word's bits as an int32
 */
export function digestWord(hash: BlockHash, i: number): number {
  return hash.charCodeAt(2 * i) | (hash.charCodeAt(2 * i + 1) << 16);
}

// The 128 bits as 8 UTF-16 code units (compact map keys).
function digestString(d: Uint32Array): BlockHash {
  return hashFromDigest(d[0]!, d[1]!, d[2]!, d[3]!);
}

/**
 * The `murmur3_128` block hash whose digest words are `w0..w3` (the inverse of {@link digestWord}):
 * lets a caller keep a chain's digests as numbers and make a hash's string only when one is read.
 * @param w0 digest word 0 (as int32 or uint32)
 * @param w1 word 1
 * @param w2 word 2
 * @param w3 word 3
 * @returns the block hash
 */
export function hashFromDigest(w0: number, w1: number, w2: number, w3: number): BlockHash {
  return String.fromCharCode(w0 & 0xffff, w0 >>> 16, w1 & 0xffff, w1 >>> 16, w2 & 0xffff, w2 >>> 16, w3 & 0xffff, w3 >>> 16) as BlockHash;
}
