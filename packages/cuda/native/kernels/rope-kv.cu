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
    float x1 = toFloat(h[j]), x2 = toFloat(h[j + half]);
    const float c = cosRow[j], s = sinRow[j];
    rotateNeox(x1, x2, c, s);
    h[j] = fromFloat<T>(x1);
    h[j + half] = fromFloat<T>(x2);
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

// Rotates the N pairs (h[j + e], h[j + half + e]), e < N, in place with cos = cosRow[j + e] and
// sin = cosRow[half + j + e]; y1/y2 receive the rotated values as stored (float, before rounding to T).
// Needs j % N == 0, half % N == 0, 16-byte aligned h and cosRow.
template <typename T>
__device__ __forceinline__ void rotateNeoxVec(T* h, int j, int half, const float* cosRow,
                                              float (&y1)[Vec16<T>::kN], float (&y2)[Vec16<T>::kN]) {
  constexpr int N = Vec16<T>::kN;
  const float* sinRow = cosRow + half;
  float c[N], sn[N];
  loadVec(h + j, y1);
  loadVec(h + j + half, y2);
#pragma unroll
  for (int e = 0; e < N; e += 4) {
    const float4 cv = *reinterpret_cast<const float4*>(cosRow + j + e);
    const float4 sv = *reinterpret_cast<const float4*>(sinRow + j + e);
    c[e] = cv.x, c[e + 1] = cv.y, c[e + 2] = cv.z, c[e + 3] = cv.w;
    sn[e] = sv.x, sn[e + 1] = sv.y, sn[e + 2] = sv.z, sn[e + 3] = sv.w;
  }
#pragma unroll
  for (int e = 0; e < N; ++e) rotateNeox(y1[e], y2[e], c[e], sn[e]);
  storeVec(h + j, y1);
  storeVec(h + j + half, y2);
}

// Neox RoPE with 16-byte accesses: one block per token; thread i takes N consecutive pair indices j of
// one head (x1 = h[j..j+N), x2 = h[j+half..j+half+N)). Needs half % N == 0 and aligned heads.
template <typename T>
__global__ void ropeNeoxVecKernel(const int32_t* __restrict__ positions, T* __restrict__ q, int64_t qStride,
                                  T* __restrict__ k, int64_t kStride, const float* __restrict__ cosSin, int numHeads,
                                  int numKvHeads, int headDim, int rotaryDim) {
  constexpr int N = Vec16<T>::kN;
  const int64_t token = blockIdx.x;
  const int half = rotaryDim / 2;
  const int vecsPerHead = half / N;
  const float* cosRow = cosSin + static_cast<int64_t>(positions[token]) * rotaryDim;
  const int total = (numHeads + numKvHeads) * vecsPerHead;
  for (int i = threadIdx.x; i < total; i += blockDim.x) {
    const int head = i / vecsPerHead, j = (i % vecsPerHead) * N;
    T* h = head < numHeads ? q + token * qStride + static_cast<int64_t>(head) * headDim
                           : k + token * kStride + static_cast<int64_t>(head - numHeads) * headDim;
    float y1[N], y2[N];
    rotateNeoxVec(h, j, half, cosRow, y1, y2);
  }
}

// KV-cache write with 16-byte accesses: blockDim.y tokens per block, thread x copies vectors x, x + blockDim.x, ...
// of its token's key row and value row. rowWidth % N == 0, aligned rows.
template <typename T>
__global__ void writeKvCacheVecKernel(const T* __restrict__ key, int64_t keyStride, const T* __restrict__ value,
                                      int64_t valueStride, T* __restrict__ keyCache, T* __restrict__ valueCache,
                                      const int32_t* __restrict__ slotMapping, int rowWidth, int64_t numTokens) {
  constexpr int N = Vec16<T>::kN;
  const int64_t token = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
  if (token >= numTokens) return;
  const int64_t slot = slotMapping[token];
  if (slot < 0) return;
  const uint4* kSrc = reinterpret_cast<const uint4*>(key + token * keyStride);
  const uint4* vSrc = reinterpret_cast<const uint4*>(value + token * valueStride);
  uint4* kDst = reinterpret_cast<uint4*>(keyCache + slot * rowWidth);
  uint4* vDst = reinterpret_cast<uint4*>(valueCache + slot * rowWidth);
  for (int i = threadIdx.x; i < rowWidth / N; i += blockDim.x) {
    const uint4 kv = kSrc[i], vv = vSrc[i];
    kDst[i] = kv;
    vDst[i] = vv;
  }
}

// Threads for `work` items per block: a multiple of 32 in [32, cap].
int threadsFor(int64_t work, int cap) {
  const int64_t t = ((work + 31) / 32) * 32;
  return static_cast<int>(t < 32 ? 32 : t > cap ? cap : t);
}

// RoPE on q and k fused with the KV-cache write: one block per token rotates its q heads in place,
// rotates its k heads in place and into the key-cache slot (pass-through dims copied), and copies its
// value row into the value-cache slot. A negative slot skips the cache writes, not the rotation.
// Vectorized only: half % N == 0, headDim % N == 0, aligned rows.
template <typename T>
__global__ void ropeNeoxWriteKvKernel(RopeWriteKvArgs a) {
  // Launched programmatically: the next kernel (attention) may start its blocks at once.
  gridDependentsLaunch();
  gridDependencyWait();
  constexpr int N = Vec16<T>::kN;
  const int64_t token = blockIdx.x;
  const int64_t slot = a.slotMapping[token];
  const int half = a.rotaryDim / 2, D = a.headDim;
  const int vecsPerHead = half / N;
  const float* cosRow = a.cosSin + static_cast<int64_t>(a.positions[token]) * a.rotaryDim;
  T* q = static_cast<T*>(a.q) + token * a.qStride;
  T* k = static_cast<T*>(a.k) + token * a.kStride;
  const int64_t rowWidth = static_cast<int64_t>(a.numKvHeads) * D;
  T* kDst = slot >= 0 ? static_cast<T*>(a.keyCache) + slot * rowWidth : nullptr;
  const int rotated = (a.numHeads + a.numKvHeads) * vecsPerHead;
  // One index space: rotated pairs, then (with a slot) key pass-through vectors, then value vectors.
  const int passVecs = (D - a.rotaryDim) / N;
  const int passEnd = rotated + (kDst ? a.numKvHeads * passVecs : 0);
  const int end = passEnd + (kDst ? static_cast<int>(rowWidth / N) : 0);
  for (int i = threadIdx.x; i < end; i += blockDim.x) {
    if (i >= passEnd) {
      const int vi = i - passEnd;
      reinterpret_cast<uint4*>(static_cast<T*>(a.valueCache) + slot * rowWidth)[vi] =
          reinterpret_cast<const uint4*>(static_cast<const T*>(a.v) + token * a.vStride)[vi];
      continue;
    }
    if (i >= rotated) {
      const int pi = i - rotated;
      const int64_t off = static_cast<int64_t>(pi / passVecs) * D + a.rotaryDim + (pi % passVecs) * N;
      *reinterpret_cast<uint4*>(kDst + off) = *reinterpret_cast<const uint4*>(k + off);
      continue;
    }
    const int head = i / vecsPerHead, j = (i % vecsPerHead) * N;
    const bool isKey = head >= a.numHeads;
    T* h = isKey ? k + static_cast<int64_t>(head - a.numHeads) * D : q + static_cast<int64_t>(head) * D;
    float y1[N], y2[N];
    rotateNeoxVec(h, j, half, cosRow, y1, y2);
    if (isKey && kDst) {
      T* dst = kDst + static_cast<int64_t>(head - a.numHeads) * D;
      storeVec(dst + j, y1);
      storeVec(dst + j + half, y2);
    }
  }
}

}  // namespace

cudaError_t launchRopeNeox(DType dtype, const int32_t* positions, void* q, int64_t qStride, void* k, int64_t kStride,
                           const float* cosSin, int64_t numTokens, int numHeads, int numKvHeads, int headDim,
                           int rotaryDim, cudaStream_t stream) {
  if (numTokens == 0) return cudaSuccess;
  const int half = rotaryDim / 2;
  const auto vectorizable = [&](int n) {
    return half % n == 0 && headDim % n == 0 && qStride % n == 0 && kStride % n == 0 && aligned16(q) && aligned16(k) &&
           aligned16(cosSin);
  };
  if (dtype == DType::BF16 || dtype == DType::F16 || dtype == DType::F32) {
    const int n = dtype == DType::F32 ? 4 : 8;
    if (vectorizable(n)) {
      const int threads = threadsFor(static_cast<int64_t>(numHeads + numKvHeads) * half / n, 512);
      return VLLM_DISPATCH_FLOAT(dtype, {
        ropeNeoxVecKernel<scalar_t><<<numTokens, threads, 0, stream>>>(positions, static_cast<scalar_t*>(q), qStride,
                                                                       static_cast<scalar_t*>(k), kStride, cosSin,
                                                                       numHeads, numKvHeads, headDim, rotaryDim);
        return cudaGetLastError();
      });
    }
  }
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
    constexpr int N = Vec16<scalar_t>::kN;
    if (rowWidth % N == 0 && keyStride % N == 0 && valueStride % N == 0 && aligned16(key) && aligned16(value) &&
        aligned16(keyCache) && aligned16(valueCache)) {
      const int x = threadsFor(rowWidth / N, 256);
      const int y = 256 / x;
      const dim3 block(x, y);
      writeKvCacheVecKernel<scalar_t><<<static_cast<unsigned>((numTokens + y - 1) / y), block, 0, stream>>>(
          static_cast<const scalar_t*>(key), keyStride, static_cast<const scalar_t*>(value), valueStride,
          static_cast<scalar_t*>(keyCache), static_cast<scalar_t*>(valueCache), slotMapping, rowWidth, numTokens);
      return cudaGetLastError();
    }
    writeKvCacheKernel<scalar_t><<<numTokens, threads, 0, stream>>>(
        static_cast<const scalar_t*>(key), keyStride, static_cast<const scalar_t*>(value), valueStride,
        static_cast<scalar_t*>(keyCache), static_cast<scalar_t*>(valueCache), slotMapping, rowWidth);
    return cudaGetLastError();
  });
}

}  // namespace vllm_cuda

namespace vllm_cuda {

cudaError_t launchRopeNeoxWriteKv(const RopeWriteKvArgs& a, cudaStream_t stream) {
  if (a.numTokens == 0) return cudaSuccess;
  const int n = a.dtype == DType::F32 ? 4 : 8;
  const int half = a.rotaryDim / 2;
  const bool vectorizable = half % n == 0 && a.headDim % n == 0 && a.qStride % n == 0 && a.kStride % n == 0 &&
                            a.vStride % n == 0 && aligned16(a.q) && aligned16(a.k) && aligned16(a.v) &&
                            aligned16(a.keyCache) && aligned16(a.valueCache) && aligned16(a.cosSin);
  if (!vectorizable) {
    // The same function in two launches.
    const cudaError_t e = launchRopeNeox(a.dtype, a.positions, a.q, a.qStride, a.k, a.kStride, a.cosSin, a.numTokens,
                                         a.numHeads, a.numKvHeads, a.headDim, a.rotaryDim, stream);
    if (e != cudaSuccess) return e;
    return launchWriteKvCache(a.dtype, a.k, a.kStride, a.v, a.vStride, a.keyCache, a.valueCache, a.slotMapping,
                              a.numTokens, a.numKvHeads, a.headDim, stream);
  }
  // Every rotated pair, pass-through vector and value vector of a token gets its own thread where it fits.
  const int64_t work = static_cast<int64_t>(a.numHeads + a.numKvHeads) * half / n +
                       static_cast<int64_t>(a.numKvHeads) * (a.headDim - a.rotaryDim) / n +
                       static_cast<int64_t>(a.numKvHeads) * a.headDim / n;
  const int threads = threadsFor(work, 1024);
  return VLLM_DISPATCH_FLOAT(a.dtype, {
    return launchKernel(ropeNeoxWriteKvKernel<scalar_t>, dim3(static_cast<unsigned>(a.numTokens)), dim3(threads), 0,
                        stream, a);
  });
}

}  // namespace vllm_cuda
