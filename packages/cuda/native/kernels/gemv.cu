// Skinny GEMM for decode (m <= 8 activation rows): out[i, j] = alpha * a[i, :] . w[j, :] + beta * out[i, j],
// 16-bit inputs, fp32 accumulate. Weight-read bound, so one warp per weight row streams it with
// 16-byte loads, kUnroll of them in flight per lane before any math; the few activation rows come
// through L1 (every warp of a block reads the same ones). A warp reduction per activation row ends it.
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kGemvWarps = 8;
constexpr int kGemvThreads = kGemvWarps * 32;
constexpr int kUnroll = 4;

template <typename O> __device__ __forceinline__ float loadOut(const O* p) { return toFloat(*p); }

template <typename T, typename O, int M>
__global__ void __launch_bounds__(kGemvThreads) gemvKernel(O* __restrict__ out, const T* __restrict__ a,
                                                           const T* __restrict__ w, int m, int n, int k, int64_t lda,
                                                           int64_t ldw, int64_t ldc, float alpha, float beta) {
  constexpr int N = Vec16<T>::kN;
  const int lane = threadIdx.x & 31;
  const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
  if (row >= n) return;
  const T* wr = w + row * ldw;
  float acc[M];
#pragma unroll
  for (int i = 0; i < M; ++i) acc[i] = 0.f;
  constexpr int kStep = 32 * N * kUnroll;
  for (int base = lane * N; base < k; base += kStep) {
    uint4 wv[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int idx = base + u * 32 * N;
      // Streamed once: evict-first, leaving L1/L2 to the activations.
      wv[u] = idx < k ? __ldcs(reinterpret_cast<const uint4*>(wr + idx)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int idx = base + u * 32 * N;
      if (idx >= k) break;
      const T* we = reinterpret_cast<const T*>(&wv[u]);
      float wf[N];
#pragma unroll
      for (int e = 0; e < N; ++e) wf[e] = toFloat(we[e]);
#pragma unroll
      for (int i = 0; i < M; ++i) {
        if (i < m) {
          float x[N];
          loadVec(a + i * lda + idx, x);
#pragma unroll
          for (int e = 0; e < N; ++e) acc[i] = fmaf(wf[e], x[e], acc[i]);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < M; ++i) {
    if (i < m) {
      const float sum = warpSum(acc[i]);
      if (lane == 0) {
        O* dst = out + i * ldc + row;
        const float prior = beta != 0.f ? beta * loadOut(dst) : 0.f;
        *dst = fromFloat<O>(alpha * sum + prior);
      }
    }
  }
}

template <typename T, typename O>
cudaError_t gemvFor(const GemvArgs& g, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((g.n + kGemvWarps - 1) / kGemvWarps));
  auto* out = static_cast<O*>(g.out);
  auto* a = static_cast<const T*>(g.a);
  auto* w = static_cast<const T*>(g.w);
  const int m = static_cast<int>(g.m), n = static_cast<int>(g.n), k = static_cast<int>(g.k);
#define VLLM_GEMV_LAUNCH(MM) \
  gemvKernel<T, O, MM><<<grid, kGemvThreads, 0, stream>>>(out, a, w, m, n, k, g.lda, g.ldw, g.ldc, g.alpha, g.beta)
  if (m <= 1) VLLM_GEMV_LAUNCH(1);
  else if (m <= 2) VLLM_GEMV_LAUNCH(2);
  else if (m <= 4) VLLM_GEMV_LAUNCH(4);
  else VLLM_GEMV_LAUNCH(8);
#undef VLLM_GEMV_LAUNCH
  return cudaGetLastError();
}

template <typename T>
cudaError_t gemvOut(const GemvArgs& g, cudaStream_t stream) {
  if (g.outType == DType::F32) return gemvFor<T, float>(g, stream);
  return gemvFor<T, T>(g, stream);
}

}  // namespace

bool canUseGemv(const GemvArgs& g) {
  const bool types = (g.inType == DType::BF16 || g.inType == DType::F16) && (g.outType == g.inType || g.outType == DType::F32);
  const bool shape = g.m >= 1 && g.m <= kGemvMaxRows && g.n >= 1 && g.n < (1LL << 31) && g.k >= 8 && g.k < (1LL << 30);
  // 16-byte loads of every weight and activation row.
  const bool aligned = g.k % 8 == 0 && g.lda % 8 == 0 && g.ldw % 8 == 0 && aligned16(g.a) && aligned16(g.w);
  return types && shape && aligned;
}

cudaError_t launchGemv(const GemvArgs& g, cudaStream_t stream) {
  if (!canUseGemv(g)) return cudaErrorInvalidValue;
  return g.inType == DType::BF16 ? gemvOut<__nv_bfloat16>(g, stream) : gemvOut<__half>(g, stream);
}

}  // namespace vllm_cuda
