// Tensor-core prefill attention for 16-bit dtypes (WMMA, 16x16x16 tiles, fp32 accumulate): the same
// function as prefillKernel in attention.cu, FlashAttention-2 style. One block per (64 query tokens,
// head, sequence), 4 warps of 16 query rows each; key/value tiles of 64 tokens gathered from the paged
// cache into shared memory with 16-byte loads; S = Q.K^T and O += P.V on tensor cores; the online
// softmax state (m, l) per row in registers (two lanes per row), O staged in shared memory between tiles.
#include <mma.h>
#include "attention-prefill-mma.h"
#include "common.cuh"

namespace vllm_cuda {
namespace {

using namespace nvcuda;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTileQ = kWarps * 16;
constexpr int kTileK = 64;
constexpr int kPad = 8;  // 16 bytes of padding per 16-bit row: keeps rows 32-byte aligned for WMMA

template <int D> struct Layout {
  static constexpr int kLd = D + kPad;
  static constexpr size_t kQ = sizeof(uint16_t) * kTileQ * kLd;
  static constexpr size_t kK = sizeof(uint16_t) * kTileK * kLd;
  static constexpr size_t kS = sizeof(float) * kWarps * 16 * kTileK;
  static constexpr size_t kP = sizeof(uint16_t) * kWarps * 16 * (kTileK + kPad);
  static constexpr size_t kO = sizeof(float) * kWarps * 16 * D;
  static constexpr size_t kTotal = kQ + 2 * kK + kS + kP + kO;
};

// Copies `rows` rows of D 16-bit elements (row r from src(r), or zeros where src(r) is null) into dst with ld.
template <int D, typename T, typename Src>
__device__ __forceinline__ void loadRows(T* dst, int ld, int rows, Src src) {
  constexpr int kChunks = D * sizeof(T) / 16;
  for (int i = threadIdx.x; i < rows * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const T* s = src(r);
    const uint4 v = s ? reinterpret_cast<const uint4*>(s)[c] : make_uint4(0, 0, 0, 0);
    reinterpret_cast<uint4*>(dst + r * ld)[c] = v;
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) prefillMmaKernel(PagedAttentionArgs a) {
  using L = Layout<D>;
  extern __shared__ __align__(128) unsigned char smemRaw[];
  T* qs = reinterpret_cast<T*>(smemRaw);
  T* ks = reinterpret_cast<T*>(smemRaw + L::kQ);
  T* vs = reinterpret_cast<T*>(smemRaw + L::kQ + L::kK);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float* sw = reinterpret_cast<float*>(smemRaw + L::kQ + 2 * L::kK) + warp * 16 * kTileK;
  T* pw = reinterpret_cast<T*>(smemRaw + L::kQ + 2 * L::kK + L::kS) + warp * 16 * (kTileK + kPad);
  float* ow = reinterpret_cast<float*>(smemRaw + L::kQ + 2 * L::kK + L::kS + L::kP) + warp * 16 * D;

  const int seq = blockIdx.z, head = blockIdx.y;
  const int qStart = a.queryStartLoc[seq];
  const int qLen = a.queryStartLoc[seq + 1] - qStart;
  const int tileStart = blockIdx.x * kTileQ;
  if (tileStart >= qLen) return;
  const int ctxLen = a.seqLens[seq];
  const int kvHead = head / (a.numHeads / a.numKvHeads);
  const int firstPos = ctxLen - qLen;
  const T* query = static_cast<const T*>(a.query);
  const T* keyCache = static_cast<const T*>(a.keyCache);
  const T* valueCache = static_cast<const T*>(a.valueCache);
  const int32_t* blockTable = a.blockTables + static_cast<int64_t>(seq) * a.maxBlocksPerSeq;
  const int64_t kvRow = static_cast<int64_t>(a.numKvHeads) * D;

  loadRows<D>(qs, L::kLd, kTileQ, [&](int r) -> const T* {
    const int qi = tileStart + r;
    return qi < qLen ? query + (qStart + qi) * a.queryStride + head * D : nullptr;
  });
  for (int i = lane; i < 16 * D; i += 32) ow[i] = 0.f;

  // Two lanes per query row; each owns half of the 64 columns of a score tile and half of D.
  const int row = lane >> 1, half = lane & 1;
  const int rowPos = firstPos + tileStart + warp * 16 + row;
  const int kvEnd = firstPos + min(tileStart + kTileQ, qLen);
  float m = -INFINITY, l = 0.f;

  for (int kvStart = 0; kvStart < kvEnd; kvStart += kTileK) {
    __syncthreads();  // the previous tile's ks/vs reads are done (qs written on the first pass)
    auto kvSrc = [&](const T* cache) {
      return [&, cache](int r) -> const T* {
        const int kv = kvStart + r;
        if (kv >= kvEnd) return nullptr;
        return cache + (static_cast<int64_t>(blockTable[kv / a.blockSize]) * a.blockSize + kv % a.blockSize) * kvRow +
               kvHead * D;
      };
    };
    loadRows<D>(ks, L::kLd, kTileK, kvSrc(keyCache));
    loadRows<D>(vs, L::kLd, kTileK, kvSrc(valueCache));
    __syncthreads();

    // S[16 x 64] = Q_w . K^T
#pragma unroll
    for (int n = 0; n < kTileK / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int k = 0; k < D / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kb;
        wmma::load_matrix_sync(qa, qs + warp * 16 * L::kLd + k * 16, L::kLd);
        wmma::load_matrix_sync(kb, ks + n * 16 * L::kLd + k * 16, L::kLd);
        wmma::mma_sync(acc, qa, kb, acc);
      }
      wmma::store_matrix_sync(sw + n * 16, acc, kTileK, wmma::mem_row_major);
    }
    __syncwarp();

    float tileMax = -INFINITY;
    float s[kTileK / 2];
#pragma unroll
    for (int j = 0; j < kTileK / 2; ++j) {
      const int c = half * (kTileK / 2) + j, kv = kvStart + c;
      s[j] = (kv <= rowPos && kv < kvEnd) ? sw[row * kTileK + c] * a.scale : -INFINITY;
      tileMax = fmaxf(tileMax, s[j]);
    }
    tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
    const float mNew = fmaxf(m, tileMax);
    const float alpha = mNew == -INFINITY ? 1.f : __expf(m - mNew);
    float rowSum = 0.f;
#pragma unroll
    for (int j = 0; j < kTileK / 2; ++j) {
      const float p = s[j] == -INFINITY ? 0.f : __expf(s[j] - mNew);
      const T pt = fromFloat<T>(p);
      pw[row * (kTileK + kPad) + half * (kTileK / 2) + j] = pt;
      rowSum += toFloat(pt);  // sum what the tensor cores will multiply
    }
    rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 1);
    l = l * alpha + rowSum;
    m = mNew;
    for (int d = half * (D / 2); d < (half + 1) * (D / 2); ++d) ow[row * D + d] *= alpha;
    __syncwarp();

    // O_w[16 x D] += P_w . V
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, ow + n * 16, D, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < kTileK / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vb;
        wmma::load_matrix_sync(pa, pw + k * 16, kTileK + kPad);
        wmma::load_matrix_sync(vb, vs + k * 16 * L::kLd + n * 16, L::kLd);
        wmma::mma_sync(acc, pa, vb, acc);
      }
      wmma::store_matrix_sync(ow + n * 16, acc, D, wmma::mem_row_major);
    }
    __syncwarp();
  }

  const int qi = tileStart + warp * 16 + row;
  if (qi < qLen) {
    T* out = static_cast<T*>(a.out) + static_cast<int64_t>(qStart + qi) * a.numHeads * D + head * D;
    const float inv = l > 0.f ? 1.f / l : 0.f;
    for (int d = half * (D / 2); d < (half + 1) * (D / 2); ++d) out[d] = fromFloat<T>(ow[row * D + d] * inv);
  }
}

template <typename T, int D>
cudaError_t launchFor(const PagedAttentionArgs& a, cudaStream_t stream) {
  constexpr size_t smem = Layout<D>::kTotal;
  static bool configured = false;
  if (!configured) {
    const cudaError_t e = cudaFuncSetAttribute(prefillMmaKernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               static_cast<int>(smem));
    if (e != cudaSuccess) return e;
    configured = true;
  }
  const dim3 grid((a.maxQueryLen + kTileQ - 1) / kTileQ, a.numHeads, a.numSeqs);
  prefillMmaKernel<T, D><<<grid, kThreads, smem, stream>>>(a);
  return cudaGetLastError();
}

template <typename T>
cudaError_t dispatchHeadDim(const PagedAttentionArgs& a, cudaStream_t stream) {
  switch (a.headDim) {
    case 16: return launchFor<T, 16>(a, stream);
    case 32: return launchFor<T, 32>(a, stream);
    case 64: return launchFor<T, 64>(a, stream);
    case 128: return launchFor<T, 128>(a, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

bool canUsePrefillMma(const PagedAttentionArgs& a) {
  const bool sixteenBit = a.dtype == DType::BF16 || a.dtype == DType::F16;
  const bool dims = a.headDim == 16 || a.headDim == 32 || a.headDim == 64 || a.headDim == 128;
  // 16-byte loads: rows of q and of the caches must start 16-byte aligned.
  const bool aligned = reinterpret_cast<uintptr_t>(a.query) % 16 == 0 && a.queryStride % 8 == 0 &&
                       reinterpret_cast<uintptr_t>(a.keyCache) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(a.valueCache) % 16 == 0;
  return sixteenBit && dims && aligned;
}

cudaError_t launchPrefillMma(const PagedAttentionArgs& a, cudaStream_t stream) {
  return a.dtype == DType::BF16 ? dispatchHeadDim<__nv_bfloat16>(a, stream) : dispatchHeadDim<__half>(a, stream);
}

}  // namespace vllm_cuda
