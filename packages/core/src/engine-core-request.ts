import type { RequestId } from './ids.js';
import type { SamplingParamsData } from './sampling-params.js';

/**
 * A tokenized request as the engine core (scheduler and model runner) receives it.
 * The front end has already validated it and resolved `samplingParams.maxTokens`.
 */
export interface EngineCoreRequest {
  /** Unique id among the engine's live requests. */
  readonly reqId: RequestId;
  /** Prompt token ids (at least one). */
  readonly promptTokenIds: readonly number[];
  /**
   * Validated sampling settings; `maxTokens` is non-null. The model's extra EOS ids
   * (generation_config.json) are already merged into `stopTokenIds` unless `ignoreEos`.
   */
  readonly samplingParams: SamplingParamsData;
  /** The tokenizer's EOS id, or null if the model has none. Ignored when `samplingParams.ignoreEos`. */
  readonly eosTokenId: number | null;
  /** When the request reached the front end, in seconds on the engine's monotonic clock. */
  readonly arrivalTime: number;
  /** Scheduling priority under the `priority` policy: lower runs first. Default 0. */
  readonly priority?: number;
  /** Salts the prefix-cache hash chain so one tenant cannot probe another's cache. */
  readonly cacheSalt?: string;
  /** LoRA adapter name, part of the prefix-cache key. */
  readonly loraName?: string;
}

/**
 * Id of the `index`-th child of a parallel-sampling request (`n > 1`), as vLLM names them.
 * The V1 front end fans a request out into these; the V0 scheduler uses them for its sequences.
 *
 * @param parent the request id the caller used
 * @param index child index in [0, n)
 */
export function childRequestId(parent: RequestId, index: number): RequestId {
  return `${index}_${parent}` as RequestId;
}
