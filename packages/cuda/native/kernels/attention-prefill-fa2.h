// FlashAttention-2-style prefill attention (attention-prefill-fa2.cu): mma.sync tensor cores, O and the
// softmax state in registers, cp.async double-buffered K/V tiles. Used by launchPagedAttentionPrefill
// when it applies; otherwise the WMMA kernel (attention-prefill-mma.cu) or the CUDA-core kernel runs.
#pragma once
#include "kernels.h"

namespace vllm_cuda {
// True for bf16/fp16, head dim 64 or 128, and 16-byte-aligned query/cache/output rows.
bool canUsePrefillFa2(const PagedAttentionArgs& a);
cudaError_t launchPrefillFa2(const PagedAttentionArgs& a, cudaStream_t stream);
}  // namespace vllm_cuda
