export { VllmError, InternalError, InvalidArgumentError, invariant, describeValue } from './errors.js';
export type { VllmErrorOptions } from './errors.js';
export { didYouMean } from './did-you-mean.js';
export { requestId, blockId } from './ids.js';
export type { RequestId, BlockId, BlockHash } from './ids.js';
export { RequestStatus, isFinished, finishReasonOf, requestStatusName } from './request-status.js';
export type { FinishedStatus } from './request-status.js';
export type { FinishReason } from './finish-reason.js';
export { SamplingParams, resolveSamplingParams, GREEDY_TEMPERATURE_EPSILON } from './sampling-params.js';
export type { SamplingParamsData, SamplingParamsInit } from './sampling-params.js';
export { childRequestId } from './engine-core-request.js';
export type { EngineCoreRequest } from './engine-core-request.js';
export { makeEmptySchedulerOutput, emptyKVCacheOps, cachedRequestColumnsOf, cachedRequestDataFromColumns } from './scheduler-output.js';
export type { SchedulerOutput, NewRequestData, CachedRequestData, CachedRequestColumns, KVCacheOps } from './scheduler-output.js';
export { SampledTokenIds, sampledTokenColumnsOf } from './model-runner-output.js';
export type { ModelRunnerOutput, Logprob, TokenLogprobs, PromptLogprobsChunk, SampledTokenColumns } from './model-runner-output.js';
export { EngineCoreOutputBatch } from './engine-core-output.js';
export type { EngineCoreOutput, EngineCoreOutputColumns, EngineCoreOutputExtras, RequestEvent } from './engine-core-output.js';
export { makeEmptySchedulerStats } from './scheduler-stats.js';
export type { SchedulerStats, PrefixCacheStats, SpecDecodingStats } from './scheduler-stats.js';
export type {
  KVCacheManager,
  KVCacheRequest,
  KVCacheBlocks,
  ComputedBlocks,
  AllocateSlotsOptions,
} from './kv-cache-manager.js';
export type { Scheduler } from './scheduler.js';
