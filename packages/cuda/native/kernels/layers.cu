// Per-token layer kernels: embedding gather, RMSNorm (plain and fused with the residual add),
// SiLU-and-multiply. The embedding and the vectorized kernels are launched programmatically (see
// launchKernel): they let the next kernel start at once (these are short; the next one's weight
// prefetch overlaps them) and wait for the previous one before touching memory. All math in float32, one rounding per store. Rows whose width is a multiple of
// 16 bytes and whose pointers are 16-byte aligned take the vectorized kernels (16-byte loads and
// stores; a norm row stays in registers between its two passes); any other shape takes the scalar ones.
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void embeddingKernel(T* __restrict__ out, const int32_t* __restrict__ ids, const T* __restrict__ table,
                                int64_t vocabSize, int64_t hidden) {
  gridDependentsLaunch();
  gridDependencyWait();
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

// Second pass of a vectorized norm row: for each vector i = threadIdx.x + j * blockDim.x < nvec that the
// first pass left in v[j], y[i] = roundTo<T>(v[j] * inv) * weight[i], one rounding at the store.
template <typename T, int kCache>
__device__ __forceinline__ void storeNormalizedRow(T* __restrict__ y, const T* __restrict__ weight,
                                                   float (&v)[kCache][Vec16<T>::kN], float inv, int nvec) {
  constexpr int N = Vec16<T>::kN;
#pragma unroll
  for (int j = 0; j < kCache; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i < nvec) {
      float w[N];
      loadVec(weight + i * N, w);
#pragma unroll
      for (int e = 0; e < N; ++e) v[j][e] = roundTo<T>(v[j][e] * inv) * w[e];
      storeVec(y + i * N, v[j]);
    }
  }
}

// RMSNorm with 16-byte accesses: one block per row, thread i owns vectors i, i + blockDim, ... (kCache
// of them, held in registers across the reduction). nvec <= blockDim.x * kCache.
template <typename T, int kCache>
__global__ void rmsNormVecKernel(T* __restrict__ out, const T* __restrict__ input, const T* __restrict__ weight,
                                 float eps, int hidden) {
  constexpr int N = Vec16<T>::kN;
  __shared__ float scratch[32];
  gridDependentsLaunch();
  gridDependencyWait();
  const int nvec = hidden / N;
  const T* x = input + blockIdx.x * static_cast<int64_t>(hidden);
  float v[kCache][N];
  float sumSq = 0.f;
#pragma unroll
  for (int j = 0; j < kCache; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i < nvec) {
      loadVec(x + i * N, v[j]);
#pragma unroll
      for (int e = 0; e < N; ++e) sumSq += v[j][e] * v[j][e];
    }
  }
  const float inv = rsqrtf(blockSum(sumSq, scratch) / static_cast<float>(hidden) + eps);
  storeNormalizedRow<T, kCache>(out + blockIdx.x * static_cast<int64_t>(hidden), weight, v, inv, nvec);
}

template <typename T, int kCache>
__global__ void fusedAddRmsNormVecKernel(T* __restrict__ input, T* __restrict__ residual, const T* __restrict__ weight,
                                         float eps, int hidden) {
  constexpr int N = Vec16<T>::kN;
  __shared__ float scratch[32];
  gridDependentsLaunch();
  gridDependencyWait();
  const int nvec = hidden / N;
  T* x = input + blockIdx.x * static_cast<int64_t>(hidden);
  T* r = residual + blockIdx.x * static_cast<int64_t>(hidden);
  float v[kCache][N];
  float sumSq = 0.f;
#pragma unroll
  for (int j = 0; j < kCache; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i < nvec) {
      float a[N];
      loadVec(x + i * N, a);
      loadVec(r + i * N, v[j]);
#pragma unroll
      for (int e = 0; e < N; ++e) {
        v[j][e] = roundTo<T>(a[e] + v[j][e]);  // the value the residual store keeps
        sumSq += v[j][e] * v[j][e];
      }
      storeVec(r + i * N, v[j]);
    }
  }
  const float inv = rsqrtf(blockSum(sumSq, scratch) / static_cast<float>(hidden) + eps);
  storeNormalizedRow<T, kCache>(x, weight, v, inv, nvec);
}

constexpr int kSiluThreads = 128;
constexpr int kSiluVecs = 2;  // vectors per thread: both gate and up loads of each issued before any math

// SiLU-and-multiply with 16-byte accesses: grid (rows, column chunks of kSiluThreads * kSiluVecs vectors).
template <typename T>
__global__ void __launch_bounds__(kSiluThreads) siluAndMulVecKernel(T* __restrict__ out, const T* __restrict__ input,
                                                                    int64_t d) {
  gridDependentsLaunch();
  gridDependencyWait();
  constexpr int N = Vec16<T>::kN;
  const int64_t nvec = d / N;
  const T* gate = input + blockIdx.x * 2 * d;
  const T* up = gate + d;
  T* y = out + blockIdx.x * d;
  const int64_t base = static_cast<int64_t>(blockIdx.y) * kSiluThreads * kSiluVecs + threadIdx.x;
  float g[kSiluVecs][N], u[kSiluVecs][N];
#pragma unroll
  for (int j = 0; j < kSiluVecs; ++j) {
    const int64_t i = base + j * kSiluThreads;
    if (i < nvec) {
      loadVec(gate + i * N, g[j]);
      loadVec(up + i * N, u[j]);
    }
  }
#pragma unroll
  for (int j = 0; j < kSiluVecs; ++j) {
    const int64_t i = base + j * kSiluThreads;
    if (i < nvec) {
#pragma unroll
      for (int e = 0; e < N; ++e) g[j][e] = g[j][e] / (1.f + __expf(-g[j][e])) * u[j][e];
      storeVec(y + i * N, g[j]);
    }
  }
}

// Vectors per thread for a vectorized norm row, or 0 when the row must take the scalar kernel.
int normCache(int64_t nvec) {
  for (int c = 1; c <= 4; c *= 2)
    if (nvec <= 1024 * c) return c;
  return 0;
}

// Threads for a norm row of nvec vectors with `cache` vectors per thread: a multiple of 32, <= 1024.
int normThreads(int64_t nvec, int cache) {
  const int64_t per = (nvec + cache - 1) / cache;
  return static_cast<int>(((per + 31) / 32) * 32);
}

}  // namespace

cudaError_t launchEmbedding(DType dtype, void* out, const int32_t* ids, const void* table, int64_t numTokens,
                            int64_t vocabSize, int64_t hidden, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    return launchKernel(embeddingKernel<scalar_t>, dim3(static_cast<unsigned>(numTokens)), dim3(kThreads), 0, stream,
                        static_cast<scalar_t*>(out), ids, static_cast<const scalar_t*>(table), vocabSize, hidden);
  });
}

cudaError_t launchRmsNorm(DType dtype, void* out, const void* input, const void* weight, float eps, int64_t numTokens,
                          int64_t hidden, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    constexpr int N = Vec16<scalar_t>::kN;
    const int cache = hidden % N == 0 && aligned16(out) && aligned16(input) && aligned16(weight) ? normCache(hidden / N) : 0;
    if (cache > 0) {
      const int threads = normThreads(hidden / N, cache);
      auto* o = static_cast<scalar_t*>(out);
      auto* x = static_cast<const scalar_t*>(input);
      auto* w = static_cast<const scalar_t*>(weight);
      const int h = static_cast<int>(hidden);
      const dim3 grid(static_cast<unsigned>(numTokens));
      switch (cache) {
        case 1: return launchKernel(rmsNormVecKernel<scalar_t, 1>, grid, dim3(threads), 0, stream, o, x, w, eps, h);
        case 2: return launchKernel(rmsNormVecKernel<scalar_t, 2>, grid, dim3(threads), 0, stream, o, x, w, eps, h);
        default: return launchKernel(rmsNormVecKernel<scalar_t, 4>, grid, dim3(threads), 0, stream, o, x, w, eps, h);
      }
    }
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
    constexpr int N = Vec16<scalar_t>::kN;
    const int cache =
        hidden % N == 0 && aligned16(input) && aligned16(residual) && aligned16(weight) ? normCache(hidden / N) : 0;
    if (cache > 0) {
      const int threads = normThreads(hidden / N, cache);
      auto* x = static_cast<scalar_t*>(input);
      auto* r = static_cast<scalar_t*>(residual);
      auto* w = static_cast<const scalar_t*>(weight);
      const int h = static_cast<int>(hidden);
      const dim3 grid(static_cast<unsigned>(numTokens));
      switch (cache) {
        case 1: return launchKernel(fusedAddRmsNormVecKernel<scalar_t, 1>, grid, dim3(threads), 0, stream, x, r, w, eps, h);
        case 2: return launchKernel(fusedAddRmsNormVecKernel<scalar_t, 2>, grid, dim3(threads), 0, stream, x, r, w, eps, h);
        default: return launchKernel(fusedAddRmsNormVecKernel<scalar_t, 4>, grid, dim3(threads), 0, stream, x, r, w, eps, h);
      }
    }
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
    constexpr int N = Vec16<scalar_t>::kN;
    if (d % N == 0 && aligned16(out) && aligned16(input)) {
      constexpr int64_t kPerBlock = kSiluThreads * kSiluVecs;
      const dim3 grid(static_cast<unsigned>(numTokens), static_cast<unsigned>((d / N + kPerBlock - 1) / kPerBlock));
      return launchKernel(siluAndMulVecKernel<scalar_t>, grid, dim3(kSiluThreads), 0, stream,
                          static_cast<scalar_t*>(out), static_cast<const scalar_t*>(input), d);
    }
    siluAndMulKernel<scalar_t><<<numTokens, d >= 4096 ? 1024 : kThreads, 0, stream>>>(
        static_cast<scalar_t*>(out), static_cast<const scalar_t*>(input), d);
    return cudaGetLastError();
  });
}

}  // namespace vllm_cuda
