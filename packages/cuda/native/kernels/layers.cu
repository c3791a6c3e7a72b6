// Per-token layer kernels: embedding gather, RMSNorm (plain and fused with the residual add),
// SiLU-and-multiply. One block per token row; all math in float32, one rounding per store.
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void embeddingKernel(T* __restrict__ out, const int32_t* __restrict__ ids, const T* __restrict__ table,
                                int64_t vocabSize, int64_t hidden) {
  const int64_t row = blockIdx.x;
  const int32_t id = ids[row];
  T* dst = out + row * hidden;
  // NOTE: an id outside [0, vocabSize) yields a zero row rather than an out-of-bounds read.
  if (id < 0 || id >= vocabSize) {
    for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = fromFloat<T>(0.f);
    return;
  }
  const T* src = table + static_cast<int64_t>(id) * hidden;
  constexpr int kVec = 16 / sizeof(T);
  if (hidden % kVec == 0) {
    const uint4* s = reinterpret_cast<const uint4*>(src);
    uint4* d = reinterpret_cast<uint4*>(dst);
    for (int64_t i = threadIdx.x; i < hidden / kVec; i += blockDim.x) d[i] = s[i];
  } else {
    for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = src[i];
  }
}

template <typename T>
__global__ void rmsNormKernel(T* __restrict__ out, const T* __restrict__ input, const T* __restrict__ weight, float eps,
                              int64_t hidden) {
  __shared__ float scratch[32];
  const T* x = input + blockIdx.x * hidden;
  float sumSq = 0.f;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float v = toFloat(x[i]);
    sumSq += v * v;
  }
  const float inv = rsqrtf(blockSum(sumSq, scratch) / static_cast<float>(hidden) + eps);
  T* y = out + blockIdx.x * hidden;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    y[i] = fromFloat<T>(roundTo<T>(toFloat(x[i]) * inv) * toFloat(weight[i]));
  }
}

template <typename T>
__global__ void fusedAddRmsNormKernel(T* __restrict__ input, T* __restrict__ residual, const T* __restrict__ weight,
                                      float eps, int64_t hidden) {
  __shared__ float scratch[32];
  T* x = input + blockIdx.x * hidden;
  T* r = residual + blockIdx.x * hidden;
  float sumSq = 0.f;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    const T sum = fromFloat<T>(toFloat(x[i]) + toFloat(r[i]));
    r[i] = sum;
    const float v = toFloat(sum);
    sumSq += v * v;
  }
  const float inv = rsqrtf(blockSum(sumSq, scratch) / static_cast<float>(hidden) + eps);
  // Each thread re-reads only the residual elements it wrote itself, so no barrier is needed.
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    x[i] = fromFloat<T>(roundTo<T>(toFloat(r[i]) * inv) * toFloat(weight[i]));
  }
}

template <typename T>
__global__ void siluAndMulKernel(T* __restrict__ out, const T* __restrict__ input, int64_t d) {
  const T* gate = input + blockIdx.x * 2 * d;
  const T* up = gate + d;
  T* y = out + blockIdx.x * d;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
    const float g = toFloat(gate[i]);
    y[i] = fromFloat<T>(g / (1.f + __expf(-g)) * toFloat(up[i]));
  }
}

}  // namespace

cudaError_t launchEmbedding(DType dtype, void* out, const int32_t* ids, const void* table, int64_t numTokens,
                            int64_t vocabSize, int64_t hidden, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    embeddingKernel<scalar_t><<<numTokens, kThreads, 0, stream>>>(static_cast<scalar_t*>(out), ids,
                                                                  static_cast<const scalar_t*>(table), vocabSize, hidden);
    return cudaGetLastError();
  });
}

cudaError_t launchRmsNorm(DType dtype, void* out, const void* input, const void* weight, float eps, int64_t numTokens,
                          int64_t hidden, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    rmsNormKernel<scalar_t><<<numTokens, hidden >= 2048 ? 1024 : kThreads, 0, stream>>>(
        static_cast<scalar_t*>(out), static_cast<const scalar_t*>(input), static_cast<const scalar_t*>(weight), eps,
        hidden);
    return cudaGetLastError();
  });
}

cudaError_t launchFusedAddRmsNorm(DType dtype, void* input, void* residual, const void* weight, float eps,
                                  int64_t numTokens, int64_t hidden, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    fusedAddRmsNormKernel<scalar_t><<<numTokens, hidden >= 2048 ? 1024 : kThreads, 0, stream>>>(
        static_cast<scalar_t*>(input), static_cast<scalar_t*>(residual), static_cast<const scalar_t*>(weight), eps,
        hidden);
    return cudaGetLastError();
  });
}

cudaError_t launchSiluAndMul(DType dtype, void* out, const void* input, int64_t numTokens, int64_t d,
                             cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    siluAndMulKernel<scalar_t><<<numTokens, d >= 4096 ? 1024 : kThreads, 0, stream>>>(
        static_cast<scalar_t*>(out), static_cast<const scalar_t*>(input), d);
    return cudaGetLastError();
  });
}

}  // namespace vllm_cuda
