import { InvalidArgumentError, type RequestId } from '@vllm-ts/core';
import { NgramIndex } from './ngram-index.js';

/** Settings of {@link NgramProposer}: a resolved speculative config plus the model's context length. */
export interface NgramProposerOptions {
  /** Draft tokens proposed per step (k >= 1). */
  readonly numSpeculativeTokens: number;
  /** Shortest suffix n-gram that counts as a match. */
  readonly promptLookupMin: number;
  /** Longest suffix n-gram tried. */
  readonly promptLookupMax: number;
  /** Drafts never take a sequence past this many tokens. */
  readonly maxModelLen: number;
}

/**
 * vLLM V1's n-gram ("prompt lookup") proposer, batched over requests: for each request, the tokens
 * that followed the earliest earlier occurrence of the longest suffix n-gram of length in
 * [`promptLookupMin`, `promptLookupMax`], at most `min(k, maxModelLen - numTokens)` of them.
 *
 * Each request keeps an {@link NgramIndex}, so a step costs O(new tokens · promptLookupMax) per
 * request instead of a pass over the whole sequence. The method set matches the engine core's
 * draft-proposer hook (`addRequest`, `appendTokens`, `removeRequest`, `propose`).
 *
 * @example
 * ```ts
 * const proposer = new NgramProposer({ numSpeculativeTokens: 3, promptLookupMin: 2, promptLookupMax: 4, maxModelLen: 2048 });
 * proposer.addRequest(requestId('r1'), [5, 6, 7, 8, 9, 5, 6]);
 * proposer.propose([requestId('r1')]); // Map { 'r1' => [7, 8, 9] }
 * ```
 */
export class NgramProposer {
  private readonly indexes = new Map<RequestId, NgramIndex>();
  private readonly options: NgramProposerOptions;

  /**
   * @param options draft length, n-gram bounds and the model's context length
   * @throws {InvalidArgumentError} `invalid_option` naming the first field out of range
   */
  constructor(options: NgramProposerOptions) {
    const { numSpeculativeTokens: k, promptLookupMin: min, promptLookupMax: max, maxModelLen } = options;
    const check = (field: string, v: number, lo: number): void => {
      if (!Number.isInteger(v) || v < lo) throw new InvalidArgumentError('invalid_option', 'NgramProposer', field, `an integer >= ${lo}`, v);
    };
    check('numSpeculativeTokens', k, 1);
    check('promptLookupMin', min, 1);
    check('promptLookupMax', max, min);
    check('maxModelLen', maxModelLen, 1);
    this.options = Object.freeze({ numSpeculativeTokens: k, promptLookupMin: min, promptLookupMax: max, maxModelLen });
  }

  /** Requests being tracked. */
  get numRequests(): number {
    return this.indexes.size;
  }

  /**
   * Starts tracking a request from its prompt.
   * @param reqId the request
   * @param promptTokenIds its prompt
   * @throws {InvalidArgumentError} `duplicate_request` when `reqId` is already tracked; `invalid_token_id` for a bad token
   */
  addRequest(reqId: RequestId, promptTokenIds: readonly number[]): void {
    if (this.indexes.has(reqId)) throw new InvalidArgumentError('duplicate_request', 'NgramProposer.addRequest', 'reqId', 'an id not already tracked', reqId);
    const index = new NgramIndex(this.options.promptLookupMin, this.options.promptLookupMax);
    index.append(promptTokenIds);
    this.indexes.set(reqId, index);
  }

  /**
   * Appends the tokens a request produced this step (accepted drafts plus the bonus or correction).
   * @param reqId a tracked request
   * @param tokenIds its new tokens
   * @throws {InvalidArgumentError} `unknown_request` when `reqId` is not tracked; `invalid_token_id` for a bad token
   */
  appendTokens(reqId: RequestId, tokenIds: readonly number[]): void {
    this.indexOf(reqId, 'appendTokens').append(tokenIds);
  }

  /**
   * Stops tracking a request; a no-op for an id not tracked (finished, aborted or failed twice).
   * @param reqId the request
   */
  removeRequest(reqId: RequestId): void {
    this.indexes.delete(reqId);
  }

  /**
   * Drafts for a batch: call with the requests that sampled a token this step.
   * @param reqIds tracked requests
   * @returns drafts by request; requests with no match or no room are left out
   * @throws {InvalidArgumentError} `unknown_request` when an id is not tracked
   */
  propose(reqIds: readonly RequestId[]): Map<RequestId, number[]> {
    const { numSpeculativeTokens: k, maxModelLen } = this.options;
    const drafts = new Map<RequestId, number[]>();
    for (const id of reqIds) {
      const draft = this.indexOf(id, 'propose').propose(k, maxModelLen);
      if (draft.length > 0) drafts.set(id, draft);
    }
    return drafts;
  }

  private indexOf(reqId: RequestId, method: string): NgramIndex {
    const index = this.indexes.get(reqId);
    if (index === undefined) throw new InvalidArgumentError('unknown_request', `NgramProposer.${method}`, 'reqId', 'a request added with addRequest and not removed', reqId);
    return index;
  }
}

/**
 * Stateless n-gram lookup over one sequence, vLLM's algorithm: one KMP longest-prefix-suffix pass
 * over the reversed tokens with match lengths capped at `promptLookupMax`, O(length) time and
 * O(promptLookupMax) memory. Same result as {@link NgramProposer}; use it when no per-request state
 * is kept.
 *
 * @param tokens the sequence so far
 * @param promptLookupMin shortest n-gram that counts
 * @param promptLookupMax longest n-gram tried
 * @param k most tokens to propose
 * @param maxModelLen the model's context length (the draft never takes the sequence past it)
 * @returns the draft, empty when nothing matches
 */
export function findNgramDraft(tokens: ArrayLike<number>, promptLookupMin: number, promptLookupMax: number, k: number, maxModelLen: number): number[] {
  const total = tokens.length;
  const room = Math.min(k, maxModelLen - total);
  if (total < promptLookupMin || room <= 0 || promptLookupMax < 1) return [];
  // Over the reversed view r[j] = tokens[last - j]: lps[j] = longest proper prefix of r[0..j] that is also its suffix.
  const last = total - 1;
  const lps = new Int32Array(promptLookupMax);
  let longest = 0;
  let position = 0;
  let cur = 0;
  let i = 1;
  while (i < total) {
    if (tokens[last - cur] === tokens[last - i]) {
      cur++;
      // `>=` keeps the latest position in reversed order: the earliest occurrence in the sequence.
      if (cur >= longest) {
        longest = cur;
        position = i;
      }
      if (i < promptLookupMax) lps[i] = cur;
      if (cur === promptLookupMax) cur = lps[promptLookupMax - 1]!;
      i++;
    } else if (cur !== 0) {
      cur = lps[cur - 1]!;
    } else {
      i++;
    }
  }
  if (longest < promptLookupMin) return [];
  const start = total - 1 - position + longest;
  const out: number[] = [];
  for (let j = start; j < Math.min(total, start + room); j++) out.push(tokens[j]!);
  return out;
}
