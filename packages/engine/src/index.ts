// Public surface of @vllm-ts/engine: an explicit list.
export { LLM } from './llm.js';
export type { ChatOptions } from './llm.js';
export { LLMEngine } from './llm-engine.js';
export type { LLMEngineRequestOptions } from './llm-engine.js';
export { AsyncLLM } from './async-llm.js';
export type { GenerateOptions } from './async-llm.js';
export { resolveEngineArgs } from './config/engine-args.js';
export type {
  EngineArgs,
  EngineSettings,
  EngineVersion,
  DeviceOption,
  DtypeOption,
  LoadFormatOption,
  SpeculativeConfig,
} from './config/engine-args.js';
export type { ResolvedEngineConfig } from './config/resolved-engine-config.js';
export type { DiffSamplingParams, GenerationDefaults } from './sample/generation-defaults.js';
export {
  MAX_NUM_SPECULATIVE_TOKENS,
  NgramIndex,
  NgramProposer,
  SpeculativeDecodingRequiresV1Error,
  TOKEN_ID_LIMIT,
  findNgramDraft,
  resolveSpeculativeConfig,
} from './spec-decode/index.js';
export type { NgramMatch, NgramProposerOptions, ResolvedSpeculativeConfig, SpeculativeConfigInput } from './spec-decode/index.js';
export { defaultModelDir } from './config/default-model.js';
export type {
  CompletionOutput,
  RequestOutput,
  PromptInput,
  OutputKind,
  IterationStats,
  FinishedRequestStats,
} from './output/request-output.js';
export { readModelConfig, SUPPORTED_ARCHITECTURES } from './model/model-config.js';
export type { ModelConfig, SupportedArchitecture, ModelDtype, ModelConfigOverrides } from './model/model-config.js';
export type { RopeConfig, RopeType } from './model/rope-config.js';
export { ModelLoadError } from './model/model-error.js';
export { loadModelRunner, MAX_IN_FLIGHT_STEPS } from './runner/model-runner.js';
export type { ModelRunner, LoadModelOptions, KVCacheInitOptions, StepLimits } from './runner/model-runner.js';
export { resolveModelPath, hubCacheDir } from './loader/hub-resolver.js';
export type { ResolveModelOptions } from './loader/hub-resolver.js';
export type { DownloadProgress } from './loader/hub-download.js';
// Re-exported so callers need one import: `import { LLM, SamplingParams } from '@vllm-ts/engine'`.
export { SamplingParams, VllmError, InvalidArgumentError } from '@vllm-ts/core';
export type {
  SamplingParamsInit,
  SamplingParamsData,
  FinishReason,
  TokenLogprobs,
  Logprob,
  SchedulerStats,
  PrefixCacheStats,
  SpecDecodingStats,
} from '@vllm-ts/core';
export type { Tokenizer, ChatMessage } from '@vllm-ts/tokenizer';
