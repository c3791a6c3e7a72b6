// Token gather for async scheduling: a decode row of step N+1 whose input token step N samples
// takes it from N's sampled-id buffer on the device, so N+1 is launched before N is copied back.
#include <cuda_runtime.h>
#include <cstdint>

namespace vllm_cuda {
namespace {

// idx holds dstIdx[0..n) followed by srcIdx[0..n): one host-to-device copy per step.
__global__ void tokenGatherKernel(int32_t* __restrict__ dst, const int32_t* __restrict__ src,
                                  const int32_t* __restrict__ idx, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[idx[i]] = src[idx[n + i]];
}

}  // namespace

cudaError_t launchTokenGather(int32_t* dst, const int32_t* src, const int32_t* idx, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const unsigned blocks = static_cast<unsigned>((n + kThreads - 1) / kThreads);
  tokenGatherKernel<<<blocks, kThreads, 0, stream>>>(dst, src, idx, n);
  return cudaGetLastError();
}

}  // namespace vllm_cuda
