// Skinny GEMM for decode (m <= 8 activation rows): out[i, j] = alpha * a[i, :] . w[j, :] + beta * out[i, j],
// 16-bit inputs, fp32 accumulate. Weight-read bound, so one warp per weight row streams it with
// 16-byte loads, kUnroll of them in flight per lane before any math; the few activation rows come
// through L1 (every warp of a block reads the same ones). A warp reduction per activation row ends it.
// Launched programmatically (Hopper), a block first asks L2 for its weight rows (up to a budget per
// launch), then waits for the previous kernel: the weight stream starts while that kernel finishes.
// With the SiLU-and-multiply epilogue the weight is [2n, k] (gate rows, then up rows): half the warps
// of a block take gate rows, half the matching up rows, and the block writes silu(g) * u, each of g and
// u rounded to the output type first, exactly as a plain gemv into [m, 2n] then siluAndMul would.
#include <cstdlib>
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kGemvWarps = 8;
constexpr int kGemvThreads = kGemvWarps * 32;

template <typename O> __device__ __forceinline__ float loadOut(const O* p) { return toFloat(*p); }

// One warp's dot products of weight row `wr` with the m activation rows, lane-partial sums in acc.
template <typename T, int M, int kUnroll>
__device__ __forceinline__ void gemvDot(const T* __restrict__ wr, const T* __restrict__ a, int m, int k, int64_t lda,
                                        bool valid, int lane, float (&acc)[M]) {
  constexpr int N = Vec16<T>::kN;
#pragma unroll
  for (int i = 0; i < M; ++i) acc[i] = 0.f;
  constexpr int kStep = 32 * N * kUnroll;
  for (int base = lane * N; valid && base < k; base += kStep) {
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
}

template <typename T, typename O, int M, int kUnroll, bool kGlu>
__global__ void __launch_bounds__(kGemvThreads) gemvKernel(O* __restrict__ out, const T* __restrict__ a,
                                                           const T* __restrict__ w, int m, int n, int k, int64_t lda,
                                                           int64_t ldw, int64_t ldc, float alpha, float beta,
                                                           int prefetchCols) {
  constexpr int kCols = kGlu ? kGemvWarps / 2 : kGemvWarps;  // output columns per block
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int col = blockIdx.x * kCols + warp % kCols;
  const bool valid = col < n;
  const int64_t wrow = kGlu ? col + static_cast<int64_t>(warp / kCols) * n : col;
  const T* wr = w + wrow * ldw;
  if (valid && col < prefetchCols && lane == 0) prefetchL2(wr, static_cast<uint32_t>(k) * sizeof(T));
  gridDependencyWait();
  float acc[M];
  gemvDot<T, M, kUnroll>(wr, a, m, k, lda, valid, lane, acc);
  // Every weight byte of this block is in: the next kernel may start (its prefetch then overlaps only
  // this grid's tail, not its whole stream, which would evict the prefetched rows again; letting it start
  // right after the wait measured 0.02-0.03 ms slower per batch-1 step).
  gridDependentsLaunch();
  if (!kGlu && !valid) return;
  if constexpr (!kGlu) {
#pragma unroll
    for (int i = 0; i < M; ++i) {
      if (i < m) {
        const float sum = warpSum(acc[i]);
        if (lane == 0) {
          O* dst = out + i * ldc + col;
          const float prior = beta != 0.f ? beta * loadOut(dst) : 0.f;
          *dst = fromFloat<O>(alpha * sum + prior);
        }
      }
    }
  } else {
    __shared__ float part[2][kCols][M];
#pragma unroll
    for (int i = 0; i < M; ++i) {
      const float sum = warpSum(acc[i]);
      if (lane == 0) part[warp / kCols][warp % kCols][i] = sum;
    }
    __syncthreads();
    if (threadIdx.x < kCols * M) {
      const int c = threadIdx.x % kCols, i = threadIdx.x / kCols;
      const int oc = blockIdx.x * kCols + c;
      if (i < m && oc < n) {
        const float g = roundTo<O>(part[0][c][i]), u = roundTo<O>(part[1][c][i]);
        out[i * ldc + oc] = fromFloat<O>(g / (1.f + __expf(-g)) * u);
      }
    }
  }
}

// The qkv projection of a decode step fused with RoPE (neox, full head dim) and the KV-cache write: a
// block's 8 warps take 4 rotation pairs (dims j and j + headDim/2 of one head), so the epilogue rotates
// q and k heads, stores q, k and v into the qkv rows and k, v into their cache slots: the values
// gemv into qkv followed by launchRopeNeoxWriteKv store (both rotate through rotateNeox).
template <typename T, int M, int kUnroll>
__global__ void __launch_bounds__(kGemvThreads) gemvRopeKvKernel(GemvRopeKvArgs p, int prefetchCols) {
  constexpr int kPairs = kGemvWarps / 2;
  const GemvArgs& g = p.gemv;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int D = p.headDim, half = D / 2, blocksPerHead = half / kPairs;
  const int head = blockIdx.x / blocksPerHead, j0 = (blockIdx.x % blocksPerHead) * kPairs;
  const int col = head * D + j0 + warp % kPairs + (warp / kPairs) * half;
  const T* wr = static_cast<const T*>(g.w) + col * g.ldw;
  const int k = static_cast<int>(g.k), m = static_cast<int>(g.m);
  if (blockIdx.x * kGemvWarps < prefetchCols && lane == 0) prefetchL2(wr, static_cast<uint32_t>(k) * sizeof(T));
  gridDependencyWait();
  float acc[M];
  gemvDot<T, M, kUnroll>(wr, static_cast<const T*>(g.a), m, k, g.lda, true, lane, acc);
  gridDependentsLaunch();
  __shared__ float part[2][kPairs][M];
#pragma unroll
  for (int i = 0; i < M; ++i) {
    const float sum = warpSum(acc[i]);
    if (lane == 0) part[warp / kPairs][warp % kPairs][i] = sum;
  }
  __syncthreads();
  if (threadIdx.x >= kPairs * M) return;
  const int c = threadIdx.x % kPairs, i = threadIdx.x / kPairs;
  if (i >= m) return;
  const int j = j0 + c;
  float y1 = roundTo<T>(part[0][c][i]), y2 = roundTo<T>(part[1][c][i]);
  const bool isV = head >= p.numHeads + p.numKvHeads;
  if (!isV) {
    const float* cosRow = p.cosSin + static_cast<int64_t>(p.positions[i]) * D;
    rotateNeox(y1, y2, cosRow[j], cosRow[half + j]);
  }
  T* row = static_cast<T*>(g.out) + i * g.ldc + head * D;
  row[j] = fromFloat<T>(y1);
  row[j + half] = fromFloat<T>(y2);
  const int64_t slot = p.slotMapping[i];
  if (head < p.numHeads || slot < 0) return;
  const int kvHead = head - p.numHeads - (isV ? p.numKvHeads : 0);
  T* dst = static_cast<T*>(isV ? p.valueCache : p.keyCache) + (slot * p.numKvHeads + kvHead) * D;
  dst[j] = fromFloat<T>(y1);
  dst[j + half] = fromFloat<T>(y2);
}

// Weight bytes a programmatic gemv asks L2 for before its dependency wait: VLLM_TS_GEMV_PREFETCH_MB, default
// kDefaultPrefetchMb, capped at half of L2. Measured on an H200 (2026-11-30, batch-1 Llama-3.1-8B step): 0 / 4 /
// 8 / 20 MiB gave 4.455 / 4.422 / 4.454 / 4.564 ms; 24 MiB for the output projection alone (prefetched while
// the decode attention runs) 4.488 against 4.417 with 4: prefetch traffic delays a latency-bound kernel's loads.
constexpr int64_t kDefaultPrefetchMb = 4;

int64_t prefetchBudgetBytes() {
  const char* v = std::getenv("VLLM_TS_GEMV_PREFETCH_MB");
  const int64_t mb = v != nullptr ? std::atoll(v) : kDefaultPrefetchMb;
  const int64_t bytes = (mb < 0 ? 0 : mb) << 20;
  const int64_t cap = l2CacheBytes() / 2;
  return bytes < cap ? bytes : cap;
}

// Output columns whose weight rows a launch prefetches before its dependency wait.
int prefetchColumns(const GemvArgs& g, int elemBytes, int rowsPerCol) {
  if (!programmaticLaunchActive()) return 0;
  const int64_t cols = prefetchBudgetBytes() / (g.k * elemBytes * rowsPerCol);
  return static_cast<int>(cols < g.n ? cols : g.n);
}

template <typename T, typename O, bool kGlu>
cudaError_t gemvFor(const GemvArgs& g, cudaStream_t stream) {
  constexpr int kCols = kGlu ? kGemvWarps / 2 : kGemvWarps;
  const dim3 grid(static_cast<unsigned>((g.n + kCols - 1) / kCols));
  auto* out = static_cast<O*>(g.out);
  auto* a = static_cast<const T*>(g.a);
  auto* w = static_cast<const T*>(g.w);
  const int m = static_cast<int>(g.m), n = static_cast<int>(g.n), k = static_cast<int>(g.k);
  const int prefetch = prefetchColumns(g, sizeof(T), kGlu ? 2 : 1);
  // Long rows (the down projection) keep more loads in flight per lane.
  const bool longRows = k >= 8192;
#define VLLM_GEMV_LAUNCH(MM)                                                                                         \
  return longRows ? launchKernel(gemvKernel<T, O, MM, 8, kGlu>, grid, dim3(kGemvThreads), 0, stream, out, a, w, m, n, k, \
                                 g.lda, g.ldw, g.ldc, g.alpha, g.beta, prefetch)                                     \
                  : launchKernel(gemvKernel<T, O, MM, 4, kGlu>, grid, dim3(kGemvThreads), 0, stream, out, a, w, m, n, k, \
                                 g.lda, g.ldw, g.ldc, g.alpha, g.beta, prefetch)
  if (m <= 1) VLLM_GEMV_LAUNCH(1);
  if (m <= 2) VLLM_GEMV_LAUNCH(2);
  if (m <= 4) VLLM_GEMV_LAUNCH(4);
  VLLM_GEMV_LAUNCH(8);
#undef VLLM_GEMV_LAUNCH
}

template <typename T>
cudaError_t gemvOut(const GemvArgs& g, cudaStream_t stream) {
  if (g.siluAndMul) return gemvFor<T, T, true>(g, stream);
  if (g.outType == DType::F32) return gemvFor<T, float, false>(g, stream);
  return gemvFor<T, T, false>(g, stream);
}

}  // namespace

bool canUseGemvRopeKv(const GemvRopeKvArgs& p) {
  const GemvArgs& g = p.gemv;
  const bool heads = p.numHeads >= 1 && p.numKvHeads >= 1 && p.headDim >= 8 && p.headDim % 8 == 0;
  const bool shape = heads && g.n == static_cast<int64_t>(p.numHeads + 2 * p.numKvHeads) * p.headDim &&
                     g.outType == g.inType && g.alpha == 1.f && g.beta == 0.f && !g.siluAndMul;
  return shape && canUseGemv(g);
}

cudaError_t launchGemvRopeKv(const GemvRopeKvArgs& p, cudaStream_t stream) {
  if (!canUseGemvRopeKv(p)) return cudaErrorInvalidValue;
  const GemvArgs& g = p.gemv;
  const dim3 grid(static_cast<unsigned>(g.n / kGemvWarps));
  const int elem = g.inType == DType::F32 ? 4 : 2;
  const int prefetch = prefetchColumns(g, elem, 1);
  const bool longRows = g.k >= 8192;
  const int m = static_cast<int>(g.m);
  auto launch = [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
#define VLLM_GEMV_ROPE_LAUNCH(MM)                                                                                    \
  return longRows ? launchKernel(gemvRopeKvKernel<T, MM, 8>, grid, dim3(kGemvThreads), 0, stream, p, prefetch)       \
                  : launchKernel(gemvRopeKvKernel<T, MM, 4>, grid, dim3(kGemvThreads), 0, stream, p, prefetch)
    if (m <= 1) VLLM_GEMV_ROPE_LAUNCH(1);
    if (m <= 2) VLLM_GEMV_ROPE_LAUNCH(2);
    if (m <= 4) VLLM_GEMV_ROPE_LAUNCH(4);
    VLLM_GEMV_ROPE_LAUNCH(8);
#undef VLLM_GEMV_ROPE_LAUNCH
  };
  return g.inType == DType::BF16 ? launch(__nv_bfloat16{}) : launch(__half{});
}

bool canUseGemv(const GemvArgs& g) {
  const bool types = (g.inType == DType::BF16 || g.inType == DType::F16) && (g.outType == g.inType || g.outType == DType::F32);
  const bool shape = g.m >= 1 && g.m <= kGemvMaxRows && g.n >= 1 && g.n < (1LL << 31) && g.k >= 8 && g.k < (1LL << 30);
  // 16-byte loads of every weight and activation row.
  const bool aligned = g.k % 8 == 0 && g.lda % 8 == 0 && g.ldw % 8 == 0 && aligned16(g.a) && aligned16(g.w);
  // The SiLU-and-multiply epilogue replaces out (alpha 1, beta 0) in the input dtype; the weight has 2n rows.
  const bool glu = !g.siluAndMul || (g.outType == g.inType && g.alpha == 1.f && g.beta == 0.f && g.n < (1LL << 30));
  return types && shape && aligned && glu;
}

cudaError_t launchGemv(const GemvArgs& g, cudaStream_t stream) {
  if (!canUseGemv(g)) return cudaErrorInvalidValue;
  return g.inType == DType::BF16 ? gemvOut<__nv_bfloat16>(g, stream) : gemvOut<__half>(g, stream);
}

}  // namespace vllm_cuda
