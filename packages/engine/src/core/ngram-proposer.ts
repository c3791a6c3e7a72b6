import type { RequestId } from '@vllm-ts/core';

/** Proposes draft tokens for speculative decoding from each request's own tokens. */
export interface DraftProposer {
  addRequest(reqId: RequestId, promptTokenIds: readonly number[]): void;
  appendTokens(reqId: RequestId, tokenIds: readonly number[]): void;
  removeRequest(reqId: RequestId): void;
  /**
   * Drafts for the given requests (those without a match are left out).
   * @param reqIds requests that are decoding
   */
  propose(reqIds: readonly RequestId[]): Map<RequestId, number[]>;
}

/** Settings of {@link NgramProposer}. */
export interface NgramProposerOptions {
  readonly numSpeculativeTokens: number;
  readonly promptLookupMin: number;
  readonly promptLookupMax: number;
  /** Drafts never take a sequence past this length. */
  readonly maxModelLen: number;
}

/**
 * vLLM's n-gram "prompt lookup" proposer: find the longest suffix n-gram (between `promptLookupMax`
 * and `promptLookupMin` tokens) that occurred earlier in the sequence, and propose the tokens that
 * followed its first occurrence.
 */
export class NgramProposer implements DraftProposer {
  private readonly tokens = new Map<RequestId, number[]>();
  private readonly opts: NgramProposerOptions;

  /** @param opts draft length, n-gram bounds and the model's length limit */
  constructor(opts: NgramProposerOptions) {
    this.opts = opts;
  }

  addRequest(reqId: RequestId, promptTokenIds: readonly number[]): void {
    this.tokens.set(reqId, [...promptTokenIds]);
  }

  appendTokens(reqId: RequestId, tokenIds: readonly number[]): void {
    const list = this.tokens.get(reqId);
    if (list !== undefined) for (const t of tokenIds) list.push(t);
  }

  removeRequest(reqId: RequestId): void {
    this.tokens.delete(reqId);
  }

  propose(reqIds: readonly RequestId[]): Map<RequestId, number[]> {
    const drafts = new Map<RequestId, number[]>();
    for (const id of reqIds) {
      const seq = this.tokens.get(id);
      if (seq === undefined) continue;
      const k = Math.min(this.opts.numSpeculativeTokens, this.opts.maxModelLen - seq.length - 1);
      if (k <= 0) continue;
      const draft = proposeFrom(seq, this.opts.promptLookupMin, this.opts.promptLookupMax, k);
      if (draft.length > 0) drafts.set(id, draft);
    }
    return drafts;
  }
}

/**
 * Draft tokens for one sequence: the `k` tokens after the first earlier occurrence of its longest
 * matching suffix n-gram (`minN..maxN` tokens), or none.
 * @param seq the sequence so far
 * @param minN shortest n-gram
 * @param maxN longest n-gram
 * @param k most tokens to propose
 */
export function proposeFrom(seq: readonly number[], minN: number, maxN: number, k: number): number[] {
  const len = seq.length;
  for (let n = Math.min(maxN, len - 1); n >= minN; n--) {
    const suffixStart = len - n;
    // NOTE: an occurrence must be followed by at least one token, which also rules out the suffix itself.
    for (let start = 0; start + n < len; start++) {
      let match = true;
      for (let j = 0; j < n; j++) {
        if (seq[start + j] !== seq[suffixStart + j]) {
          match = false;
          break;
        }
      }
      if (match) return seq.slice(start + n, Math.min(len, start + n + k));
    }
  }
  return [];
}
