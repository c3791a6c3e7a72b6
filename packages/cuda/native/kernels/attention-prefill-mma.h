// Tensor-core prefill attention (attention-prefill-mma.cu), used by launchPagedAttentionPrefill when it applies.
#pragma once
#include "kernels.h"

namespace vllm_cuda {
// True for bf16/fp16, head dims 16..128 (multiples of 16) and 16-byte-aligned query/cache rows.
bool canUsePrefillMma(const PagedAttentionArgs& a);
cudaError_t launchPrefillMma(const PagedAttentionArgs& a, cudaStream_t stream);
}  // namespace vllm_cuda
