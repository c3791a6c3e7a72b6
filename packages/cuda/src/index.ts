// Public surface of @vllm-ts/cuda.
export { isCudaAvailable, cudaUnavailableReason } from './binding.js';
export { CudaError, CudaUnavailableError, DeviceMemoryError } from './errors.js';
export {
  dtypeSize,
  toBfloat16Bits,
  fromBfloat16Bits,
  toFloat16Bits,
  fromFloat16Bits,
  roundToDType,
} from './dtype.js';
export type { DType, FloatDType } from './dtype.js';
export { DeviceTensor } from './device-tensor.js';
export type { HostData } from './device-tensor.js';
export { CudaStream, CudaEvent, CudaGraph } from './stream.js';
export {
  getDeviceInfo,
  deviceMemoryInfo,
  synchronizeDevice,
  allocPinned,
  programmaticDependentLaunch,
  setProgrammaticDependentLaunch,
} from './device.js';
export type { DeviceInfo, ProgrammaticLaunchState } from './device.js';
export { computeRopeCosSinCache, ropeInverseFrequencies } from './rope-cache.js';
export type { RopeScaling, RopeCacheOptions } from './rope-cache.js';
export { embedding, rmsNorm, fusedAddRmsNorm, siluAndMul } from './ops/layers.js';
export type { OpOptions } from './ops/layers.js';
export { rotaryEmbedding, rotaryEmbeddingWithKvCache } from './ops/rotary.js';
export type { RotaryEmbeddingArgs, RotaryEmbeddingWithKvCacheArgs } from './ops/rotary.js';
export {
  writeKvCache,
  pagedAttentionPrefill,
  pagedAttentionDecode,
  decodeWorkspaceFloats,
  ATTENTION_HEAD_DIMS,
  decodePartitionSize,
} from './ops/attention.js';
export type {
  WriteKvCacheArgs,
  PagedAttentionArgs,
  PagedAttentionPrefillArgs,
  PagedAttentionDecodeArgs,
} from './ops/attention.js';
export { argmax, sample, applyPenalties } from './ops/sampling.js';
export type { SampleArgs, ApplyPenaltiesArgs } from './ops/sampling.js';
export { tokenGather, tokenGatherReference, copyToHostAsync, copyFromHostAsync } from './ops/token-gather.js';
export type { TokenGatherArgs } from './ops/token-gather.js';
export { gemm, gemv, gemvSiluAndMul, GEMV_MAX_ROWS } from './ops/gemm.js';
export type { GemmArgs, GemvSiluAndMulArgs } from './ops/gemm.js';
export { gemvRotaryWithKvCache } from './ops/gemv-rope.js';
export type { GemvRotaryWithKvCacheArgs } from './ops/gemv-rope.js';
export {
  embeddingReference,
  rmsNormReference,
  fusedAddRmsNormReference,
  siluAndMulReference,
  gemmReference,
} from './reference/layers.js';
export {
  rotaryReference,
  writeKvCacheReference,
  pagedAttentionReference,
} from './reference/attention.js';
export type { HeadGeometry, PagedAttentionReferenceArgs } from './reference/attention.js';
export {
  argmaxReference,
  samplingDistributionReference,
  applyPenaltiesReference,
} from './reference/sampling.js';
export type { RowSamplingParams, RowPenalties } from './reference/sampling.js';
export { LlamaForward } from './llama-forward.js';
export type {
  LlamaConfig,
  LlamaLayerWeights,
  LlamaHostWeights,
  LlamaForwardOptions,
  LlamaStep,
  LlamaStepShape,
} from './llama-types.js';
