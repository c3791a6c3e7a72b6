// Device-side sampling: argmax, temperature / min-p / top-k / top-p sampling with one caller-supplied
// uniform draw per row, and repetition / frequency / presence penalties.
//
// Sampling keeps vLLM's order: min-p against the top token, then top-k (ties at the k-th value are
// kept), then top-p over the renormalised survivors (the smallest top set whose mass reaches p), then
// an inverse-CDF draw over the survivors in token-id order. Thresholds are found by radix selection
// over an order-preserving uint32 key of the logit (4 passes of 8 bits), so no row is ever sorted.
#include <cub/block/block_scan.cuh>
#include <climits>
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kSampleThreads = 1024;
constexpr uint32_t kPromptBit = 1u << 30;

__device__ __forceinline__ uint32_t orderKey(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

// Block-wide (max, first index of max) over one row, NaN skipped. Every thread gets the result.
template <typename T>
__device__ void rowArgmax(const T* row, int64_t n, float* outValue, int* outIndex) {
  __shared__ float vals[32];
  __shared__ int idxs[32];
  float bv = -INFINITY;
  int bi = INT_MAX;
  // kArgmaxUnroll independent loads per thread are in flight before any comparison: one block reads
  // a whole row, so latency, not bandwidth, bounds it (one load at a time per warp read a 128k-entry
  // row in ~50 us; batch-1 decode samples from one row per step). Ties keep the lowest index in any
  // visiting order, so the result does not depend on the unrolling.
  constexpr int kArgmaxUnroll = 16;
  const int64_t stride = blockDim.x;
  int64_t i = threadIdx.x;
  for (; i + (kArgmaxUnroll - 1) * stride < n; i += kArgmaxUnroll * stride) {
    float v[kArgmaxUnroll];
#pragma unroll
    for (int u = 0; u < kArgmaxUnroll; ++u) v[u] = toFloat(row[i + u * stride]);
#pragma unroll
    for (int u = 0; u < kArgmaxUnroll; ++u) {
      const int idx = static_cast<int>(i + u * stride);
      if (better(v[u], idx, bv, bi)) bv = v[u], bi = idx;
    }
  }
  for (; i < n; i += stride) {
    const float v = toFloat(row[i]);
    if (better(v, static_cast<int>(i), bv, bi)) bv = v, bi = static_cast<int>(i);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, bv, bi)) bv = ov, bi = oi;
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) vals[warp] = bv, idxs[warp] = bi;
  __syncthreads();
  bv = lane < static_cast<int>(blockDim.x >> 5) ? vals[lane] : -INFINITY;
  bi = lane < static_cast<int>(blockDim.x >> 5) ? idxs[lane] : INT_MAX;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, bv, bi)) bv = ov, bi = oi;
  }
  *outValue = bv;
  *outIndex = bi == INT_MAX ? 0 : bi;  // an all-NaN row has no maximum; token 0 stands in
}

template <typename T>
__global__ void argmaxKernel(int32_t* out, const T* logits, int64_t vocabSize) {
  float v;
  int i;
  rowArgmax(logits + blockIdx.x * vocabSize, vocabSize, &v, &i);
  if (threadIdx.x == 0) out[blockIdx.x] = i;
}

// Finds, among alive keys (key >= floorKey), the largest threshold t such that the weight of keys
// >= t reaches `target`: by count (byMass = false, weight 1) or by probability mass exp((l - M) / T).
// Returns floorKey when the alive weight is below target.
__device__ uint32_t radixThreshold(const float* row, int64_t n, uint32_t floorKey, bool byMass, float target, float maxLogit,
                                   float invT) {
  __shared__ float hist[256];
  __shared__ uint32_t sPrefix;
  __shared__ float sRemaining;
  __shared__ int sTakeAll;
  if (threadIdx.x == 0) sPrefix = 0, sRemaining = target, sTakeAll = 0;
  uint32_t mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += blockDim.x) hist[i] = 0.f;
    __syncthreads();
    const uint32_t prefix = sPrefix;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const float l = row[i];
      if (isnan(l)) continue;
      const uint32_t key = orderKey(l);
      if (key < floorKey || (key & mask) != prefix) continue;
      atomicAdd(&hist[(key >> shift) & 255u], byMass ? __expf((l - maxLogit) * invT) : 1.f);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float cum = 0.f;
      int pick = -1;
      if (!sTakeAll) {
        for (int d = 255; d >= 0; --d) {
          if (hist[d] > 0.f && cum + hist[d] >= sRemaining) {
            pick = d;
            break;
          }
          cum += hist[d];
        }
      }
      if (pick < 0) {
        // Not enough weight above any cut (or rounding left it just short): keep the whole prefix.
        sTakeAll = 1;
        for (int d = 0; d < 256; ++d)
          if (hist[d] > 0.f) {
            pick = d;
            break;
          }
      } else {
        sRemaining -= cum;
      }
      sPrefix = pick < 0 ? 0u : (prefix | (static_cast<uint32_t>(pick) << shift));
    }
    mask |= 255u << shift;
    __syncthreads();
  }
  const uint32_t result = sPrefix;
  __syncthreads();
  return result > floorKey ? result : floorKey;
}

__global__ void __launch_bounds__(kSampleThreads) sampleKernel(SampleArgs a) {
  using BlockScan = cub::BlockScan<float, kSampleThreads>;
  __shared__ typename BlockScan::TempStorage scanStorage;
  __shared__ float scratch[32];
  __shared__ int sPick;
  __shared__ int sLastAlive;
  const int64_t rowIdx = blockIdx.x, n = a.vocabSize;
  const float* row = a.logits + rowIdx * n;
  float maxLogit;
  int greedy;
  rowArgmax(row, n, &maxLogit, &greedy);
  const float temperature = a.temperature[rowIdx];
  if (temperature < 1e-5f || maxLogit == -INFINITY) {
    if (threadIdx.x == 0) a.out[rowIdx] = greedy;
    return;
  }
  const float invT = 1.f / temperature;
  uint32_t floorKey = 0;
  const float minP = a.minP[rowIdx];
  if (minP > 0.f) floorKey = orderKey(maxLogit + temperature * logf(fminf(minP, 1.f)));
  const int topK = a.topK[rowIdx];
  if (topK > 0 && topK < n) floorKey = radixThreshold(row, n, floorKey, false, static_cast<float>(topK), maxLogit, invT);
  const float topP = a.topP[rowIdx];
  if (topP < 1.f) {
    float local = 0.f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const float l = row[i];
      if (!isnan(l) && orderKey(l) >= floorKey) local += __expf((l - maxLogit) * invT);
    }
    const float total = blockSum(local, scratch);
    floorKey = radixThreshold(row, n, floorKey, true, fmaxf(topP, 0.f) * total, maxLogit, invT);
  }

  // Inverse CDF in token-id order: thread t owns the contiguous chunk [t*chunk, (t+1)*chunk).
  const int64_t chunk = (n + kSampleThreads - 1) / kSampleThreads;
  const int64_t begin = threadIdx.x * chunk, end = begin + chunk < n ? begin + chunk : n;
  float mass = 0.f;
  int lastAlive = -1;
  for (int64_t i = begin; i < end; ++i) {
    const float l = row[i];
    if (isnan(l) || orderKey(l) < floorKey) continue;
    mass += __expf((l - maxLogit) * invT);
    lastAlive = static_cast<int>(i);
  }
  float before, total;
  BlockScan(scanStorage).ExclusiveSum(mass, before, total);
  if (threadIdx.x == 0) sPick = INT_MAX, sLastAlive = -1;
  __syncthreads();
  const float u = fminf(fmaxf(a.uniform[rowIdx], 0.f), 0.99999994f);
  const float target = u * total;
  atomicMax(&sLastAlive, lastAlive);
  if (mass > 0.f && before <= target && target < before + mass) {
    float acc = before;
    int pick = lastAlive;
    for (int64_t i = begin; i < end; ++i) {
      const float l = row[i];
      if (isnan(l) || orderKey(l) < floorKey) continue;
      acc += __expf((l - maxLogit) * invT);
      if (acc > target) {
        pick = static_cast<int>(i);
        break;
      }
    }
    atomicMin(&sPick, pick);
  }
  __syncthreads();
  if (threadIdx.x == 0) a.out[rowIdx] = sPick != INT_MAX ? sPick : (sLastAlive >= 0 ? sLastAlive : greedy);
}

__global__ void scatterTokenCountsKernel(PenaltyArgs a) {
  const int64_t rowIdx = blockIdx.x;
  int32_t* counts = a.counts + rowIdx * a.vocabSize;
  for (int64_t i = threadIdx.x; i < a.outputWidth; i += blockDim.x) {
    const int32_t t = a.outputTokens[rowIdx * a.outputWidth + i];
    if (t >= 0 && t < a.vocabSize) atomicAdd(&counts[t], 1);
  }
  for (int64_t i = threadIdx.x; i < a.promptWidth; i += blockDim.x) {
    const int32_t t = a.promptTokens[rowIdx * a.promptWidth + i];
    if (t >= 0 && t < a.vocabSize) atomicOr(&counts[t], static_cast<int32_t>(kPromptBit));
  }
}

__global__ void applyPenaltiesKernel(PenaltyArgs a) {
  const int64_t rowIdx = blockIdx.y;
  const int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (v >= a.vocabSize) return;
  const int64_t idx = rowIdx * a.vocabSize + v;
  const uint32_t c = static_cast<uint32_t>(a.counts[idx]);
  const uint32_t outputCount = c & (kPromptBit - 1);
  if (c == 0) return;
  float l = a.logits[idx];
  const float rep = a.repetition[rowIdx];
  if (rep != 1.f) l = l > 0.f ? l / rep : l * rep;
  l -= a.frequency[rowIdx] * static_cast<float>(outputCount);
  if (outputCount > 0) l -= a.presence[rowIdx];
  a.logits[idx] = l;
}

}  // namespace

cudaError_t launchArgmax(DType dtype, int32_t* out, const void* logits, int64_t numRows, int64_t vocabSize,
                         cudaStream_t stream) {
  if (numRows == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(dtype, {
    argmaxKernel<scalar_t><<<numRows, 1024, 0, stream>>>(out, static_cast<const scalar_t*>(logits), vocabSize);
    return cudaGetLastError();
  });
}

cudaError_t launchSample(const SampleArgs& a, cudaStream_t stream) {
  if (a.numRows == 0) return cudaSuccess;
  sampleKernel<<<a.numRows, kSampleThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t launchApplyPenalties(const PenaltyArgs& a, cudaStream_t stream) {
  if (a.numRows == 0) return cudaSuccess;
  cudaError_t e = cudaMemsetAsync(a.counts, 0, sizeof(int32_t) * a.numRows * a.vocabSize, stream);
  if (e != cudaSuccess) return e;
  scatterTokenCountsKernel<<<a.numRows, 256, 0, stream>>>(a);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  const dim3 grid((a.vocabSize + 255) / 256, a.numRows);
  applyPenaltiesKernel<<<grid, 256, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace vllm_cuda
