import {
  InvalidArgumentError,
  VllmError,
  type EngineCoreRequest,
  type KVCacheManager,
  type NewRequestData,
  type RequestId,
} from '@vllm-ts/core';
import type { Request } from './request.js';

const NO_TOKENS: readonly number[] = Object.freeze([]);

/**
 * Checks what V1 refuses in a request and resolves its `maxTokens`.
 * @internal
 * @returns the effective max tokens (never past the model length)
 * @throws InvalidArgumentError (`invalid_request`) for `n > 1` or an empty prompt; VllmError
 *   `prompt_too_long` when no position is left for an output
 */
export function validateRequest(request: EngineCoreRequest, maxModelLen: number): number {
  const n = request.samplingParams.n;
  if (n !== 1) {
    throw new InvalidArgumentError('invalid_request', 'EngineCoreRequest', 'samplingParams.n', '1 under V1 (the front end fans n > 1 out into child requests named by childRequestId)', n);
  }
  const len = request.promptTokenIds.length;
  if (len === 0) throw new InvalidArgumentError('invalid_request', 'EngineCoreRequest', 'promptTokenIds', 'a non-empty array of token ids', request.promptTokenIds);
  if (len >= maxModelLen) {
    throw new VllmError('prompt_too_long', `[scheduler-v1] the prompt has ${len} tokens but maxModelLen is ${maxModelLen} (at least one position must stay free for an output)`);
  }
  return Math.max(1, Math.min(request.samplingParams.maxTokens ?? maxModelLen - len, maxModelLen - len));
}

/**
 * Everything the runner needs about a request it has not seen.
 * @internal
 */
export function newRequestData(r: Request, kv: KVCacheManager): NewRequestData {
  return {
    reqId: r.reqId,
    promptTokenIds: r.promptTokenIds,
    outputTokenIds: NO_TOKENS,
    samplingParams: r.samplingParams,
    blockIds: [...kv.getBlockIds(r.reqId)],
    numComputedTokens: r.numComputedTokens,
    forkedFrom: null,
  };
}

/**
 * Throws for runner output that breaks the contract.
 * @internal
 */
export function badRunnerOutput(reqId: RequestId, expected: string, received: number): never {
  throw new InvalidArgumentError('invalid_runner_output', 'ModelRunnerOutput', `sampledTokenIds[${JSON.stringify(reqId)}]`, expected, `${received} tokens`);
}

/**
 * Throws for drafts proposed under async scheduling (not supported with it, as in vLLM 0.10-0.11).
 * @internal
 * @param numRequests how many requests the drafts were for
 */
export function refuseAsyncDrafts(numRequests: number): never {
  throw new InvalidArgumentError(
    'unsupported_with_async_scheduling',
    'Scheduler.updateDraftTokenIds',
    'draftTokenIds',
    'empty: speculative decoding is not supported together with asyncScheduling (as in vLLM 0.10-0.11)',
    `drafts for ${numRequests} request(s)`,
    'Turn asyncScheduling off to use a draft proposer.',
  );
}
