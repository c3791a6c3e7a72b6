import { RequestStatus, type FinishedStatus } from '@vllm-ts/core';
import type { Request } from './request.js';

/**
 * Decides whether the request's last appended token ends it, in vLLM's order:
 * 1. fewer than `minTokens` outputs: EOS and stop tokens are held back;
 * 2. the EOS token (unless `ignoreEos`): stopped, no stop reason;
 * 3. a token of `stopTokenIds`: stopped, the token is the stop reason;
 * 4. `maxModelLen` tokens or `maxTokens` outputs: length-capped.
 * The model length ends a request even below `minTokens` (it cannot grow past it); `maxTokens`
 * never falls below `minTokens` (validated), so that case never arises for it.
 * Stop strings are the front end's business (it sees text; the scheduler sees ids).
 *
 * Sets `request.stopReason` when a stop token ends it.
 * @internal
 * @returns the finished status, or null to go on
 */
export function checkStop(request: Request, maxModelLen: number): FinishedStatus | null {
  // Counted in tokens (prompt included) against thresholds kept beside numTokens: no read of the
  // prompt length or the sampling params per token.
  const numTokens = request.numTokens;
  if (numTokens >= request.minTokensEnd) {
    const last = request.lastTokenId;
    if (last === request.eosTokenId) return RequestStatus.FINISHED_STOPPED;
    const stopIds = request.stopTokenIds;
    if (stopIds !== null && stopIds.includes(last)) {
      request.stopReason = last;
      return RequestStatus.FINISHED_STOPPED;
    }
    if (numTokens >= request.maxTokensEnd) return RequestStatus.FINISHED_LENGTH_CAPPED;
  }
  if (numTokens >= maxModelLen) return RequestStatus.FINISHED_LENGTH_CAPPED;
  return null;
}
