import { InvalidArgumentError } from '@vllm-ts/core';
import { TrieEdgeTable } from './trie-edge-table.js';

/** Token ids the index accepts: `[0, TOKEN_ID_LIMIT)`. */
export const TOKEN_ID_LIMIT = 2 ** 31;

/** The longest earlier occurrence of a sequence's suffix, as found by {@link NgramIndex.match}. */
export interface NgramMatch {
  /** Length of the matched suffix n-gram. */
  readonly ngramLength: number;
  /** Position of the first token that followed the earliest occurrence (always below the sequence length). */
  readonly followerStart: number;
}

/**
 * An incremental index of one token sequence for n-gram prompt lookup: a trie of the *reversed*
 * n-grams (lengths 1..`promptLookupMax`), each node holding the end of the n-gram's earliest
 * occurrence. Appending t tokens costs O(t · promptLookupMax) map operations and a lookup
 * O(promptLookupMax), whatever the sequence length, where a scan of the sequence costs O(length)
 * per step.
 *
 * NOTE: an n-gram enters the index only once a token follows it, so the suffix itself never
 * matches and every match has at least one token to propose. Ends are inserted in increasing
 * order, so a node's first insertion is its earliest occurrence.
 */
export class NgramIndex {
  private readonly tokens: number[] = [];
  private readonly edges = new TrieEdgeTable();
  private firstEnd = new Int32Array(256);
  private numNodes = 1;
  private numIndexedEnds = 0;

  /**
   * @param promptLookupMin shortest n-gram that counts as a match (>= 1)
   * @param promptLookupMax longest n-gram indexed (>= promptLookupMin)
   * @throws {InvalidArgumentError} `invalid_option` when the bounds are not integers with 1 <= min <= max
   */
  constructor(
    readonly promptLookupMin: number,
    readonly promptLookupMax: number,
  ) {
    if (!Number.isInteger(promptLookupMin) || promptLookupMin < 1) {
      throw new InvalidArgumentError('invalid_option', 'NgramIndex', 'promptLookupMin', 'an integer >= 1', promptLookupMin);
    }
    if (!Number.isInteger(promptLookupMax) || promptLookupMax < promptLookupMin) {
      throw new InvalidArgumentError('invalid_option', 'NgramIndex', 'promptLookupMax', `an integer >= promptLookupMin (${promptLookupMin})`, promptLookupMax);
    }
  }

  /** Tokens in the sequence so far. */
  get numTokens(): number {
    return this.tokens.length;
  }

  /** Trie nodes allocated (root included); grows by at most `promptLookupMax` per token. */
  get size(): number {
    return this.numNodes;
  }

  /**
   * Appends tokens to the sequence and indexes the n-grams that now have a follower.
   * @param tokenIds new tokens, in order
   * @throws {InvalidArgumentError} `invalid_token_id` when a token is not an integer in [0, {@link TOKEN_ID_LIMIT}); nothing is appended then
   */
  append(tokenIds: readonly number[]): void {
    for (let i = 0; i < tokenIds.length; i++) {
      const t = tokenIds[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= TOKEN_ID_LIMIT) {
        throw new InvalidArgumentError('invalid_token_id', 'NgramIndex.append', `tokenIds[${i}]`, `an integer in [0, ${TOKEN_ID_LIMIT})`, t);
      }
    }
    for (const t of tokenIds) this.tokens.push(t);
    for (let end = this.numIndexedEnds; end < this.tokens.length - 1; end++) this.insertEndingAt(end);
    this.numIndexedEnds = Math.max(this.numIndexedEnds, this.tokens.length - 1);
  }

  /**
   * The longest suffix n-gram (length in [min, max]) that occurred earlier, at its earliest occurrence.
   * @returns the match, or null when no suffix of at least `promptLookupMin` tokens occurred before
   */
  match(): NgramMatch | null {
    const tokens = this.tokens;
    const len = tokens.length;
    let node = 0;
    let depth = 0;
    const maxDepth = Math.min(this.promptLookupMax, len - 1);
    while (depth < maxDepth) {
      const child = this.edges.get(node, tokens[len - 1 - depth]!);
      if (child < 0) break;
      node = child;
      depth++;
    }
    if (depth < this.promptLookupMin) return null;
    return { ngramLength: depth, followerStart: this.firstEnd[node]! + 1 };
  }

  /**
   * Draft tokens: up to `k` tokens that followed the earliest occurrence of the longest matching
   * suffix n-gram, never taking the sequence past `maxModelLen`.
   * @param k most tokens to propose
   * @param maxModelLen the model's context length
   * @returns the draft, empty when nothing matches or no room is left
   */
  propose(k: number, maxModelLen: number): number[] {
    const len = this.tokens.length;
    const room = Math.min(k, maxModelLen - len);
    if (room <= 0) return [];
    const m = this.match();
    if (m === null) return [];
    return this.tokens.slice(m.followerStart, Math.min(len, m.followerStart + room));
  }

  /** The sequence so far (a copy). */
  tokenIds(): number[] {
    return this.tokens.slice();
  }

  private insertEndingAt(end: number): void {
    const tokens = this.tokens;
    const depth = Math.min(this.promptLookupMax, end + 1);
    let node = 0;
    for (let d = 0; d < depth; d++) {
      const fresh = this.numNodes;
      node = this.edges.findOrInsert(node, tokens[end - d]!, fresh);
      if (node === fresh) this.newNode(end);
    }
  }

  private newNode(end: number): number {
    if (this.numNodes === this.firstEnd.length) {
      const grown = new Int32Array(this.firstEnd.length * 2);
      grown.set(this.firstEnd);
      this.firstEnd = grown;
    }
    this.firstEnd[this.numNodes] = end;
    return this.numNodes++;
  }
}
