import { InvalidArgumentError, SamplingParams, resolveSamplingParams } from '@vllm-ts/core';
import type { SamplingParamsData, SamplingParamsInit } from '@vllm-ts/core';

/**
 * Refuses `logitBias` keys and `allowedTokenIds` outside the model's vocabulary, as vLLM's input
 * processor does (`_validate_logit_bias`, `_validate_allowed_token_ids`), listing every bad id.
 *
 * @param params a request's sampling settings (absent: the defaults, which name no ids)
 * @param vocabSize the model's vocabulary size (ids are `0 .. vocabSize - 1`)
 * @returns the settings, validated (a SamplingParams instance is returned as is)
 * @throws InvalidArgumentError `invalid_sampling_params` naming the field, the vocabulary size and the bad ids
 */
export function checkTokenIdsInVocab(
  params: SamplingParams | SamplingParamsInit | undefined,
  vocabSize: number,
): SamplingParams | SamplingParamsData | undefined {
  if (params === undefined) return undefined;
  const data = params instanceof SamplingParams ? params : resolveSamplingParams(params);
  const check = (field: string, ids: readonly number[]): void => {
    const bad = ids.filter((t) => t >= vocabSize);
    if (bad.length > 0) {
      throw new InvalidArgumentError('invalid_sampling_params', 'SamplingParams', field, `token ids in [0, ${vocabSize}) (the vocabulary size is ${vocabSize})`, bad);
    }
  };
  if (data.logitBias !== null) check('logitBias', Object.keys(data.logitBias).map(Number));
  if (data.allowedTokenIds !== null) check('allowedTokenIds', data.allowedTokenIds);
  return data;
}
