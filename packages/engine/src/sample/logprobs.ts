import type { Logprob, TokenLogprobs } from '@vllm-ts/core';

/**
 * `log(sum(exp(row)))` of `row[offset .. offset + n)`, computed stably in doubles.
 * @param row logits
 * @param offset first element
 * @param n number of elements
 */
export function logSumExp(row: ArrayLike<number>, offset: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (row[offset + i]! > max) max = row[offset + i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(row[offset + i]! - max);
  return max + Math.log(sum);
}

/**
 * Indices of the `k` largest values of `row[offset .. offset + n)`, largest first; ties keep the
 * lower index first (as `torch.topk` on CPU does for these sizes).
 * @param row values
 * @param offset first element
 * @param n number of elements
 * @param k how many (clamped to n)
 */
export function topIndices(row: ArrayLike<number>, offset: number, n: number, k: number): number[] {
  const m = Math.min(k, n);
  if (m <= 0) return [];
  const better = (a: number, b: number): boolean => row[offset + a]! > row[offset + b]! || (row[offset + a] === row[offset + b] && a < b);
  if (m > 64) {
    const all = Array.from({ length: n }, (_, i) => i);
    all.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    return all.slice(0, m);
  }
  // Insertion into a short sorted list: O(n * m) with m small, no allocation per element.
  const top: number[] = [];
  for (let i = 0; i < n; i++) {
    if (top.length === m && !better(i, top[m - 1]!)) continue;
    let j = top.length === m ? m - 1 : top.length;
    while (j > 0 && better(i, top[j - 1]!)) {
      top[j] = top[j - 1]!;
      j--;
    }
    top[j] = i;
  }
  return top;
}

/**
 * Log-probabilities of one position from raw logits: the chosen token with its rank, and the
 * `numTop` most likely tokens.
 *
 * @param row logits
 * @param offset first element of this position's row
 * @param vocabSize row length
 * @param chosen the sampled (or actual next prompt) token
 * @param numTop how many top entries
 * @returns the chosen token's logprob and rank (1 = most likely) and the top list
 */
export function tokenLogprobs(row: ArrayLike<number>, offset: number, vocabSize: number, chosen: number, numTop: number): TokenLogprobs {
  const lse = logSumExp(row, offset, vocabSize);
  const chosenLogit = row[offset + chosen]!;
  let rank = 1;
  for (let i = 0; i < vocabSize; i++) if (row[offset + i]! > chosenLogit) rank++;
  const top: Logprob[] = topIndices(row, offset, vocabSize, numTop).map((tokenId, i) => ({
    tokenId,
    logprob: row[offset + tokenId]! - lse,
    rank: i + 1,
  }));
  return { chosen: { tokenId: chosen, logprob: chosenLogit - lse, rank }, top };
}
