// Rotary embedding (neox layout) on q and k in place, and the write of new keys/values into their
// paged-cache slots. Scaling variants (linear, llama3, yarn) live in the host-computed cos/sin cache.
#include "common.cuh"

namespace vllm_cuda {
namespace {

template <typename T>
__global__ void ropeNeoxKernel(const int32_t* __restrict__ positions, T* __restrict__ q, int64_t qStride,
                               T* __restrict__ k, int64_t kStride, const float* __restrict__ cosSin, int numHeads,
                               int numKvHeads, int headDim, int rotaryDim) {
  const int64_t token = blockIdx.x;
  const int half = rotaryDim / 2;
  const float* cosRow = cosSin + static_cast<int64_t>(positions[token]) * rotaryDim;
  const float* sinRow = cosRow + half;
  const int pairs = (numHeads + numKvHeads) * half;
  for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
    const int head = i / half, j = i % half;
    T* h = head < numHeads ? q + token * qStride + static_cast<int64_t>(head) * headDim
                           : k + token * kStride + static_cast<int64_t>(head - numHeads) * headDim;
    const float x1 = toFloat(h[j]), x2 = toFloat(h[j + half]);
    const float c = cosRow[j], s = sinRow[j];
    h[j] = fromFloat<T>(x1 * c - x2 * s);
    h[j + half] = fromFloat<T>(x2 * c + x1 * s);
  }
}

template <typename T>
__global__ void writeKvCacheKernel(const T* __restrict__ key, int64_t keyStride, const T* __restrict__ value,
                                   int64_t valueStride, T* __restrict__ keyCache, T* __restrict__ valueCache,
                                   const int32_t* __restrict__ slotMapping, int rowWidth) {
  const int64_t token = blockIdx.x;
  const int64_t slot = slotMapping[token];
  if (slot < 0) return;
  // Cache layout [numBlocks, blockSize, numKvHeads, headDim] makes a slot's row contiguous.
  T* kDst = keyCache + slot * rowWidth;
  T* vDst = valueCache + slot * rowWidth;
  const T* kSrc = key + token * keyStride;
  const T* vSrc = value + token * valueStride;
  for (int i = threadIdx.x; i < rowWidth; i += blockDim.x) {
    kDst[i] = kSrc[i];
    vDst[i] = vSrc[i];
  }
}

}  // namespace

cudaError_t launchRopeNeox(DType dtype, const int32_t* positions, void* q, int64_t qStride, void* k, int64_t kStride,
                           const float* cosSin, int64_t numTokens, int numHeads, int numKvHeads, int headDim,
                           int rotaryDim, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  const int pairs = (numHeads + numKvHeads) * rotaryDim / 2;
  const int threads = pairs >= 512 ? 512 : ((pairs + 31) / 32) * 32;
  return VLLM_DISPATCH_FLOAT(dtype, {
    ropeNeoxKernel<scalar_t><<<numTokens, threads, 0, stream>>>(positions, static_cast<scalar_t*>(q), qStride,
                                                                static_cast<scalar_t*>(k), kStride, cosSin, numHeads,
                                                                numKvHeads, headDim, rotaryDim);
    return cudaGetLastError();
  });
}

cudaError_t launchWriteKvCache(DType dtype, const void* key, int64_t keyStride, const void* value, int64_t valueStride,
                               void* keyCache, void* valueCache, const int32_t* slotMapping, int64_t numTokens,
                               int numKvHeads, int headDim, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  const int rowWidth = numKvHeads * headDim;
  const int threads = rowWidth >= 512 ? 512 : ((rowWidth + 31) / 32) * 32;
  return VLLM_DISPATCH_FLOAT(dtype, {
    writeKvCacheKernel<scalar_t><<<numTokens, threads, 0, stream>>>(
        static_cast<const scalar_t*>(key), keyStride, static_cast<const scalar_t*>(value), valueStride,
        static_cast<scalar_t*>(keyCache), static_cast<scalar_t*>(valueCache), slotMapping, rowWidth);
    return cudaGetLastError();
  });
}

}  // namespace vllm_cuda
