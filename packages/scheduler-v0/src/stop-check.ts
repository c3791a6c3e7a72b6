import { RequestStatus, type FinishedStatus } from '@vllm-ts/core';
import type { Sequence } from './sequence-group.js';

/**
 * Whether `seq` stops after its last appended token, with V1's rules in V1's order (so both
 * engines finish alike): below `minTokens` never; EOS (unless `ignoreEos`); a stop token id
 * (reported as the stop reason); then length (`maxModelLen` or `maxTokens`). Stop strings are
 * the front end's job.
 *
 * @param seq a sequence with at least one output token
 * @param maxModelLen the model's context length
 * @returns the finished status, or null to keep going; sets `seq.stopReason` for a stop token
 */
export function checkStop(seq: Sequence, maxModelLen: number): FinishedStatus | null {
  const p = seq.samplingParams;
  const numOutput = seq.outputTokenIds.length;
  if (numOutput < p.minTokens) return null;
  const last = seq.outputTokenIds[numOutput - 1]!;
  if (last === seq.group.eosTokenId) return RequestStatus.FINISHED_STOPPED;
  if (p.stopTokenIds.includes(last)) {
    seq.stopReason = last;
    return RequestStatus.FINISHED_STOPPED;
  }
  const maxTokens = p.maxTokens ?? maxModelLen - seq.group.promptTokenIds.length;
  if (seq.tokenIds.length >= maxModelLen || numOutput >= maxTokens) return RequestStatus.FINISHED_LENGTH_CAPPED;
  return null;
}
