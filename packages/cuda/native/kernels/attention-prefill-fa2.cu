// FlashAttention-2-style prefill attention for bf16/fp16 with head dim 64 or 128: the same function as
// prefillKernel in attention.cu. One block of 4 (or 8) warps per (64 (128) query tokens, head, sequence); each warp
// owns 16 query rows. Tensor cores through mma.sync.m16n8k16 (16-bit in, fp32 accumulate) with the
// PTX fragment layouts: the Q fragments are loaded once into registers, S = Q.K^T and O += P.V keep
// their accumulators in registers, and P goes from the S accumulator straight into the A operand of
// P.V (the C layout of two n8 tiles is the A layout of one k16 tile). Key/value tiles of 64 tokens are
// gathered row by row through the block table with cp.async into a double-buffered shared-memory ring
// (tile t+1 loads while tile t computes). Causal: tiles past a query tile's last position are never
// loaded, and the mask is applied only on the tiles that straddle the diagonal.
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include "attention-prefill-fa2.h"
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kPad = 8;  // 16 bytes per shared row: ldmatrix's 8 row addresses land in distinct banks

// W warps of 16 query rows each; key/value tiles of BK tokens.
template <int D, int W, int BK> struct Fa2Layout {
  static constexpr int kThreads = W * 32;
  static constexpr int kTileQ = W * 16;
  static constexpr int kTileK = BK;
  static constexpr int kLd = D + kPad;  // elements per shared row
  static constexpr int kTile = kTileK * kLd;
  static constexpr size_t kBytes = sizeof(uint16_t) * (kTileQ * kLd + 4 * kTile);  // Q, then (K, V) x 2 stages
};

__device__ __forceinline__ uint32_t smemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, bypassing L1; srcBytes = 0 writes zeros without reading src.
__device__ __forceinline__ void cpAsync16(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cpAsyncWait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smemAddr(p)));
}
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smemAddr(p)));
}

// c[16x8] += a[16x16] . b[16x8], fp32 accumulate.
template <typename T>
__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// 2^x on the special-function unit, denormals flushed (x = -inf gives 0).
__device__ __forceinline__ float fastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Two floats rounded to T, packed low = lo, high = hi (the element order of an mma operand register).
template <typename T> __device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  uint32_t r;
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    r = *reinterpret_cast<const uint32_t*>(&v);
  } else {
    const __half2 v = __floats2half2_rn(lo, hi);
    r = *reinterpret_cast<const uint32_t*>(&v);
  }
  return r;
}
template <typename T> __device__ __forceinline__ float2 unpack2(uint32_t r) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&r));
  } else {
    return __half22float2(*reinterpret_cast<const __half2*>(&r));
  }
}

template <typename T, int D, int W, int BK>
__global__ void __launch_bounds__(W * 32, W == 4 ? 2 : 1) prefillFa2Kernel(PagedAttentionArgs a) {
  using L = Fa2Layout<D, W, BK>;
  constexpr int kThreads = L::kThreads, kTileQ = L::kTileQ, kTileK = L::kTileK;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  extern __shared__ __align__(128) unsigned char smemRaw[];
  T* qs = reinterpret_cast<T*>(smemRaw);
  T* kvs = qs + kTileQ * L::kLd;  // stage s: K at kvs + 2s * kTile, V at kvs + (2s + 1) * kTile

  const int seq = blockIdx.z, head = blockIdx.y;
  const int qStart = a.queryStartLoc[seq];
  const int qLen = a.queryStartLoc[seq + 1] - qStart;
  // The heaviest (last) causal tiles are launched first.
  const int tile = static_cast<int>(gridDim.x) - 1 - static_cast<int>(blockIdx.x);
  const int tileStart = tile * kTileQ;
  if (tileStart >= qLen) return;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int ctxLen = a.seqLens[seq];
  const int kvHead = head / (a.numHeads / a.numKvHeads);
  const int firstPos = ctxLen - qLen;
  const T* query = static_cast<const T*>(a.query);
  const T* keyCache = static_cast<const T*>(a.keyCache);
  const T* valueCache = static_cast<const T*>(a.valueCache);
  const int32_t* blockTable = a.blockTables + static_cast<int64_t>(seq) * a.maxBlocksPerSeq;
  const int64_t kvRow = static_cast<int64_t>(a.numKvHeads) * D;
  // Keys [0, kvEnd) are visible to some row of this tile.
  const int kvEnd = firstPos + min(tileStart + kTileQ, qLen);
  const int numTiles = (kvEnd + kTileK - 1) / kTileK;

  // Q tile (rows past qLen zero-filled).
  for (int i = tid; i < kTileQ * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks, qi = tileStart + r;
    const T* src = qi < qLen ? query + (qStart + qi) * a.queryStride + head * D + c * 8 : query;
    cpAsync16(qs + r * L::kLd + c * 8, src, qi < qLen ? 16 : 0);
  }
  auto loadKv = [&](int t, int stage) {
    T* ks = kvs + 2 * stage * L::kTile;
    T* vs = ks + L::kTile;
    const int kvStart = t * kTileK;
    for (int i = tid; i < kTileK * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks, kv = kvStart + r;
      // Keys past kvEnd are zero-filled: V rows multiply P = 0 and must not hold NaN garbage.
      int64_t off = 0;
      if (kv < kvEnd) off = (static_cast<int64_t>(blockTable[kv / a.blockSize]) * a.blockSize + kv % a.blockSize) * kvRow;
      const int bytes = kv < kvEnd ? 16 : 0;
      cpAsync16(ks + r * L::kLd + c * 8, keyCache + off + kvHead * D + c * 8, bytes);
      cpAsync16(vs + r * L::kLd + c * 8, valueCache + off + kvHead * D + c * 8, bytes);
    }
  };
  loadKv(0, 0);
  cpAsyncCommit();  // group: Q + tile 0

  const int g = lane >> 2, tg = lane & 3;  // mma fragment coordinates: row group, thread in group
  const int rowBase = tileStart + warp * 16;
  const int pos0 = firstPos + rowBase + g;  // positions of this thread's rows g and g + 8
  const int pos1 = pos0 + 8;
  const int warpLastPos = firstPos + rowBase + 15;
  const float scaleLog2 = a.scale * 1.4426950408889634f;

  uint32_t qf[D / 16][4];
  float o[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;  // running max (log2 units) and partial sums

  for (int t = 0; t < numTiles; ++t) {
    if (t + 1 < numTiles) {
      loadKv(t + 1, (t + 1) & 1);
      cpAsyncCommit();
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) ldmatrixX4(qf[kk], qs + (warp * 16 + (lane & 15)) * L::kLd + kk * 16 + (lane >> 4) * 8);
    }
    const int kvStart = t * kTileK;
    // A warp whose rows all precede this tile (last causal tile of an upper warp), or whose rows are all
    // past the chunk's end, has nothing to add; it still takes part in the loads and barriers.
    if (kvStart <= warpLastPos && rowBase < qLen) {
      const T* ks = kvs + 2 * (t & 1) * L::kTile;
      const T* vs = ks + L::kTile;
      float s[kTileK / 8][4];
#pragma unroll
      for (int j = 0; j < kTileK / 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int j = 0; j < kTileK / 8; j += 2) {
          // Matrices: keys j*8.. (d kk*16, kk*16+8), keys (j+1)*8.. (d kk*16, kk*16+8).
          uint32_t b[4];
          ldmatrixX4(b, ks + (j * 8 + (lane & 7) + (lane >> 4) * 8) * L::kLd + kk * 16 + ((lane >> 3) & 1) * 8);
          mma16816<T>(s[j], qf[kk], b[0], b[1]);
          mma16816<T>(s[j + 1], qf[kk], b[2], b[3]);
        }
      }
      // Scale into log2 units; mask keys after each row's position (only tiles crossing the diagonal).
      const bool needMask = kvStart + kTileK - 1 > firstPos + rowBase;
      float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
      for (int j = 0; j < kTileK / 8; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int kv = kvStart + j * 8 + tg * 2 + e;
          float v0 = s[j][e] * scaleLog2, v1 = s[j][2 + e] * scaleLog2;
          if (needMask) {
            if (kv > pos0) v0 = -INFINITY;
            if (kv > pos1) v1 = -INFINITY;
          }
          s[j][e] = v0;
          s[j][2 + e] = v1;
          mx0 = fmaxf(mx0, v0);
          mx1 = fmaxf(mx1, v1);
        }
      }
#pragma unroll
      for (int off = 1; off < 4; off <<= 1) {
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, off));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, off));
      }
      const float mNew0 = fmaxf(m0, mx0), mNew1 = fmaxf(m1, mx1);
      // A row with every key masked so far keeps m = -inf: exponents are taken against 0, so its alpha and p are 0, never NaN.
      const float base0 = mNew0 == -INFINITY ? 0.f : mNew0, base1 = mNew1 == -INFINITY ? 0.f : mNew1;
      const float alpha0 = fastExp2(m0 - base0), alpha1 = fastExp2(m1 - base1);
      m0 = mNew0;
      m1 = mNew1;
      // P as the A operand of P.V: k16 tile kk is S tiles 2kk (cols 0-7) and 2kk+1 (cols 8-15).
      uint32_t pf[kTileK / 16][4];
      float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
      for (int j = 0; j < kTileK / 8; ++j) {
        const uint32_t top = pack2<T>(fastExp2(s[j][0] - base0), fastExp2(s[j][1] - base0));
        const uint32_t bottom = pack2<T>(fastExp2(s[j][2] - base1), fastExp2(s[j][3] - base1));
        // Sum the rounded values: the normalizer matches what the tensor cores multiply.
        const float2 tf = unpack2<T>(top), bf = unpack2<T>(bottom);
        sum0 += tf.x + tf.y;
        sum1 += bf.x + bf.y;
        pf[j / 2][(j & 1) * 2 + 0] = top;
        pf[j / 2][(j & 1) * 2 + 1] = bottom;
      }
      l0 = l0 * alpha0 + sum0;
      l1 = l1 * alpha1 + sum1;
#pragma unroll
      for (int j = 0; j < D / 8; ++j) {
        o[j][0] *= alpha0;
        o[j][1] *= alpha0;
        o[j][2] *= alpha1;
        o[j][3] *= alpha1;
      }
#pragma unroll
      for (int kk = 0; kk < kTileK / 16; ++kk) {
#pragma unroll
        for (int j = 0; j < D / 8; j += 2) {
          // Transposed matrices: keys kk*16.. and kk*16+8.. at dims j*8.., then the same at dims (j+1)*8..
          uint32_t b[4];
          ldmatrixX4Trans(b, vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * L::kLd + j * 8 + (lane >> 4) * 8);
          mma16816<T>(o[j], pf[kk], b[0], b[1]);
          mma16816<T>(o[j + 1], pf[kk], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this stage before the next iteration refills it
  }

  // The four threads of a row hold partial sums over their columns.
#pragma unroll
  for (int off = 1; off < 4; off <<= 1) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, off);
    l1 += __shfl_xor_sync(0xffffffffu, l1, off);
  }
  const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
  const int qi0 = rowBase + g, qi1 = qi0 + 8;
  T* out = static_cast<T*>(a.out);
  const int64_t outRow = static_cast<int64_t>(a.numHeads) * D;
#pragma unroll
  for (int j = 0; j < D / 8; ++j) {
    const int d = j * 8 + tg * 2;
    if (qi0 < qLen) {
      *reinterpret_cast<uint32_t*>(out + (qStart + qi0) * outRow + head * D + d) = pack2<T>(o[j][0] * inv0, o[j][1] * inv0);
    }
    if (qi1 < qLen) {
      *reinterpret_cast<uint32_t*>(out + (qStart + qi1) * outRow + head * D + d) = pack2<T>(o[j][2] * inv1, o[j][3] * inv1);
    }
  }
}

template <typename T, int D, int W, int BK>
cudaError_t launchFa2For(const PagedAttentionArgs& a, cudaStream_t stream) {
  using L = Fa2Layout<D, W, BK>;
  static bool configured = false;
  if (!configured) {
    const cudaError_t e = cudaFuncSetAttribute(prefillFa2Kernel<T, D, W, BK>,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(L::kBytes));
    if (e != cudaSuccess) return e;
    configured = true;
  }
  const dim3 grid((a.maxQueryLen + L::kTileQ - 1) / L::kTileQ, a.numHeads, a.numSeqs);
  prefillFa2Kernel<T, D, W, BK><<<grid, L::kThreads, L::kBytes, stream>>>(a);
  return cudaGetLastError();
}

struct Fa2Config {
  int warps;
  int tileK;
};

// Warps per block (16 query rows each) and key tile. Head dim 128 with chunks over 64 tokens: 8 warps
// (128-row tiles halve the K/V traffic per query; one 256-thread block per SM either way at ~210
// registers: measured 146 vs 137 TFLOP/s on an H200), 64-key tiles. Otherwise 4 warps, 64-key tiles.
// VLLM_TS_FA2_WARPS=4|8 and VLLM_TS_FA2_TILE_K=64|128 (head dim 64 only) override the choice
// (benchmarks; read on every launch).
Fa2Config fa2Config(const PagedAttentionArgs& a) {
  Fa2Config c{a.headDim == 128 && a.maxQueryLen > 64 ? 8 : 4, 64};
  const char* w = std::getenv("VLLM_TS_FA2_WARPS");
  if (w && std::strcmp(w, "8") == 0) c.warps = 8;
  if (w && std::strcmp(w, "4") == 0) c.warps = 4;
  const char* k = std::getenv("VLLM_TS_FA2_TILE_K");
  if (k && std::strcmp(k, "128") == 0 && a.headDim == 64) c.tileK = 128;
  if (k && std::strcmp(k, "64") == 0) c.tileK = 64;
  return c;
}

template <typename T>
cudaError_t dispatchFa2(const PagedAttentionArgs& a, cudaStream_t stream) {
  const Fa2Config c = fa2Config(a);
  if (a.headDim == 128) return c.warps == 8 ? launchFa2For<T, 128, 8, 64>(a, stream) : launchFa2For<T, 128, 4, 64>(a, stream);
  if (c.tileK == 128) return c.warps == 8 ? launchFa2For<T, 64, 8, 128>(a, stream) : launchFa2For<T, 64, 4, 128>(a, stream);
  return c.warps == 8 ? launchFa2For<T, 64, 8, 64>(a, stream) : launchFa2For<T, 64, 4, 64>(a, stream);
}

}  // namespace

bool canUsePrefillFa2(const PagedAttentionArgs& a) {
  const bool sixteenBit = a.dtype == DType::BF16 || a.dtype == DType::F16;
  const bool dims = a.headDim == 64 || a.headDim == 128;
  // 16-byte cp.async: query rows, cache rows and the output's 4-byte stores must be aligned.
  const bool aligned = aligned16(a.query) && a.queryStride % 8 == 0 && aligned16(a.keyCache) &&
                       aligned16(a.valueCache) && aligned16(a.out);
  return sixteenBit && dims && aligned;
}

cudaError_t launchPrefillFa2(const PagedAttentionArgs& a, cudaStream_t stream) {
  return a.dtype == DType::BF16 ? dispatchFa2<__nv_bfloat16>(a, stream) : dispatchFa2<__half>(a, stream);
}

}  // namespace vllm_cuda
