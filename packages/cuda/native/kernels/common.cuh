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

// Neox RoPE of one pair (x1 at dim j, x2 at dim j + rotaryDim/2), each product rounded on its own (no
// contraction into fma), so every kernel that rotates through it stores the same bits.
__device__ __forceinline__ void rotateNeox(float& x1, float& x2, float c, float s) {
  const float y1 = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
  const float y2 = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
  x1 = y1;
  x2 = y2;
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

// Programmatic dependent launch (Hopper, sm_90+). A kernel launched by launchKernel() below may start
// while the kernel before it on the stream still runs; it must call gridDependencyWait() before it
// reads anything an earlier kernel wrote and before it writes anything an earlier kernel may still
// read. The wait returns once every earlier kernel has completed and its writes are visible.
// gridDependentsLaunch() lets the next such kernel start its blocks (and their pre-wait prologue)
// early; it affects only scheduling, never what the next kernel sees. Both are no-ops in code compiled
// for targets below sm_90 and in kernels launched without the attribute.
__device__ __forceinline__ void gridDependencyWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void gridDependentsLaunch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Asks the memory system to bring `bytes` (a multiple of 16, p 16-byte aligned) into L2. L2 is the
// device's point of coherence, so this is safe before gridDependencyWait() even for data an earlier
// kernel is still writing: it moves no value into the thread.
__device__ __forceinline__ void prefetchL2(const void* p, uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(bytes) : "memory");
#endif
}

// Launches `kernel`, with the programmatic-stream-serialization attribute when
// programmaticLaunchActive(); only kernels that call gridDependencyWait() before touching dependent
// data may be launched this way. Returns the launch status.
template <typename... Params, typename... Args>
cudaError_t launchKernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                         Args... args) {
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attr;
  config.numAttrs = programmaticLaunchActive() ? 1 : 0;
  const cudaError_t e = cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
  const cudaError_t last = cudaGetLastError();
  return e != cudaSuccess ? e : last;
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
