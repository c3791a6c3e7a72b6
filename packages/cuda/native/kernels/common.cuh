// Device helpers shared by the kernels: dtype conversion and block reductions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cfloat>
#include <cstdint>
#include "kernels.h"

namespace vllm_cuda {

template <typename T> __device__ __forceinline__ float toFloat(T v);
template <> __device__ __forceinline__ float toFloat<float>(float v) { return v; }
template <> __device__ __forceinline__ float toFloat<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float toFloat<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T fromFloat(float v);
template <> __device__ __forceinline__ float fromFloat<float>(float v) { return v; }
template <> __device__ __forceinline__ __half fromFloat<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Rounds a float to T's precision and back: the value a T store would keep.
template <typename T> __device__ __forceinline__ float roundTo(float v) { return toFloat<T>(fromFloat<T>(v)); }

// 16-byte vectors of T: the unit of every vectorized load and store.
template <typename T> struct Vec16 {
  static constexpr int kN = 16 / sizeof(T);
};

// True when p is 16-byte aligned.
__host__ __device__ __forceinline__ bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Loads 16 bytes (16 / sizeof(T) elements) at p, which must be 16-byte aligned, as floats.
template <typename T>
__device__ __forceinline__ void loadVec(const T* __restrict__ p, float (&f)[Vec16<T>::kN]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < Vec16<T>::kN; ++i) f[i] = toFloat(e[i]);
}

// Stores 16 / sizeof(T) floats, each rounded once to T, as one 16-byte store at p (16-byte aligned).
template <typename T>
__device__ __forceinline__ void storeVec(T* __restrict__ p, const float (&f)[Vec16<T>::kN]) {
  uint4 raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < Vec16<T>::kN; ++i) e[i] = fromFloat<T>(f[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum; every thread gets the result. `scratch` holds 32 floats. blockDim.x % 32 == 0.
__device__ __forceinline__ float blockSum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < numWarps ? scratch[lane] : 0.f;
  return warpSum(v);
}

__device__ __forceinline__ float blockMax(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < numWarps ? scratch[lane] : -FLT_MAX;
  return warpMax(v);
}

}  // namespace vllm_cuda

// Instantiates `body` with scalar_t bound to the C++ type of a floating dtype.
#define VLLM_DISPATCH_FLOAT(dtype, ...)                                     \
  [&]() -> cudaError_t {                                                    \
    switch (dtype) {                                                        \
      case ::vllm_cuda::DType::F32: { using scalar_t = float; __VA_ARGS__ } \
      case ::vllm_cuda::DType::F16: { using scalar_t = __half; __VA_ARGS__ } \
      case ::vllm_cuda::DType::BF16: { using scalar_t = __nv_bfloat16; __VA_ARGS__ } \
      default: return cudaErrorInvalidValue;                                \
    }                                                                       \
  }()
