// Attention over the paged KV cache. Cache layout per layer: [numBlocks, blockSize, numKvHeads, headDim],
// keys and values in separate allocations; a sequence's token t lives in block blockTables[seq][t / blockSize].
//
// Prefill (bf16/fp16 with aligned rows go to the tensor-core kernel in attention-prefill-mma.cu; this one
// serves float32, head dim 8 and unaligned views): one block per (32 query tokens, head, sequence), tiles of 32 keys in shared memory, online
// softmax (running max m and sum l per query row), causal by position: query i of a sequence with
// qLen new tokens and seqLen context tokens sits at position seqLen - qLen + i.
// Decode: split-K. One block per (sequence, kv head, 512-token partition) computes all query heads of
// the kv head's group; a second kernel merges the partitions with their (max, sum) pairs.
#include "attention-prefill-fa2.h"
#include "attention-prefill-mma.h"
#include "common.cuh"

namespace vllm_cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kTileQ = 32;
constexpr int kTileK = 32;

template <int D> constexpr size_t prefillSmemBytes() {
  return sizeof(float) * (kTileQ * D + kTileK * (D + 1) + kTileK * D + kTileQ * (kTileK + 1));
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) prefillKernel(PagedAttentionArgs a) {
  static_assert(D % 4 == 0, "head dim must be a multiple of 4");
  constexpr int KP = D + 1;  // padded key rows: threads of a warp read different keys at one d
  extern __shared__ float smem[];
  float* qs = smem;
  float* ks = qs + kTileQ * D;
  float* vs = ks + kTileK * KP;
  float* ps = vs + kTileK * D;

  const int seq = blockIdx.z, head = blockIdx.y;
  const int qStart = a.queryStartLoc[seq];
  const int qLen = a.queryStartLoc[seq + 1] - qStart;
  const int tileStart = blockIdx.x * kTileQ;
  if (tileStart >= qLen) return;
  const int ctxLen = a.seqLens[seq];
  const int kvHead = head / (a.numHeads / a.numKvHeads);
  const int firstPos = ctxLen - qLen;
  const int tid = threadIdx.x, row = tid >> 2, sub = tid & 3;
  const T* query = static_cast<const T*>(a.query);
  const T* keyCache = static_cast<const T*>(a.keyCache);
  const T* valueCache = static_cast<const T*>(a.valueCache);
  const int32_t* blockTable = a.blockTables + static_cast<int64_t>(seq) * a.maxBlocksPerSeq;
  const int64_t kvRow = static_cast<int64_t>(a.numKvHeads) * D;

  for (int i = tid; i < kTileQ * D; i += kThreads) {
    const int r = i / D, d = i % D, qi = tileStart + r;
    qs[i] = qi < qLen ? toFloat(query[(qStart + qi) * a.queryStride + head * D + d]) * a.scale : 0.f;
  }
  const int rowPos = firstPos + tileStart + row;
  const int kvEnd = firstPos + min(tileStart + kTileQ, qLen);

  float m = -INFINITY, l = 0.f;
  float acc[D / 4];
#pragma unroll
  for (int j = 0; j < D / 4; ++j) acc[j] = 0.f;

  for (int kvStart = 0; kvStart < kvEnd; kvStart += kTileK) {
    __syncthreads();  // the previous tile's ks/vs/ps reads are done (and qs is written on the first pass)
    for (int i = tid; i < kTileK * D; i += kThreads) {
      const int c = i / D, d = i % D, kv = kvStart + c;
      float kf = 0.f, vf = 0.f;
      if (kv < kvEnd) {
        const int64_t block = blockTable[kv / a.blockSize];
        const int64_t off = (block * a.blockSize + kv % a.blockSize) * kvRow + kvHead * D + d;
        kf = toFloat(keyCache[off]);
        vf = toFloat(valueCache[off]);
      }
      ks[c * KP + d] = kf;
      vs[c * D + d] = vf;
    }
    __syncthreads();

    float s[kTileK / 4];
    float tileMax = -INFINITY;
#pragma unroll
    for (int j = 0; j < kTileK / 4; ++j) {
      const int c = sub + 4 * j, kv = kvStart + c;
      float dot = 0.f;
#pragma unroll 16
      for (int d = 0; d < D; ++d) dot += qs[row * D + d] * ks[c * KP + d];
      s[j] = (kv <= rowPos && kv < kvEnd) ? dot : -INFINITY;
      tileMax = fmaxf(tileMax, s[j]);
    }
    tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
    tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 2));
    const float mNew = fmaxf(m, tileMax);
    // A row with every key masked so far keeps m = -inf; its p and alpha must not become NaN.
    const float alpha = mNew == -INFINITY ? 1.f : __expf(m - mNew);
    float rowSum = 0.f;
#pragma unroll
    for (int j = 0; j < kTileK / 4; ++j) {
      const float p = s[j] == -INFINITY ? 0.f : __expf(s[j] - mNew);
      ps[row * (kTileK + 1) + sub + 4 * j] = p;
      rowSum += p;
    }
    rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 1);
    rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 2);
    l = l * alpha + rowSum;
    m = mNew;
    __syncwarp();  // a row's four threads share a warp: ps[row] is complete for all of them
#pragma unroll
    for (int j = 0; j < D / 4; ++j) acc[j] *= alpha;
    for (int c = 0; c < kTileK; ++c) {
      const float p = ps[row * (kTileK + 1) + c];
#pragma unroll
      for (int j = 0; j < D / 4; ++j) acc[j] += p * vs[c * D + sub + 4 * j];
    }
  }

  const int qi = tileStart + row;
  if (qi < qLen) {
    T* out = static_cast<T*>(a.out) + static_cast<int64_t>(qStart + qi) * a.numHeads * D + head * D;
    const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int j = 0; j < D / 4; ++j) out[sub + 4 * j] = fromFloat<T>(acc[j] * inv);
  }
}

// Loads N consecutive elements (N * sizeof(T) bytes, aligned to that size up to 16) as floats.
template <typename T, int N>
__device__ __forceinline__ void loadFloats(const T* __restrict__ src, float (&dst)[N]) {
  constexpr int kBytes = N * static_cast<int>(sizeof(T));
  if constexpr (kBytes % 16 == 0) {
    constexpr int kPer = 16 / sizeof(T);
#pragma unroll
    for (int c = 0; c < N / kPer; ++c) {
      const uint4 raw = reinterpret_cast<const uint4*>(src)[c];
      const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int i = 0; i < kPer; ++i) dst[c * kPer + i] = toFloat(e[i]);
    }
  } else if constexpr (kBytes % 8 == 0) {
    constexpr int kPer = 8 / sizeof(T);
#pragma unroll
    for (int c = 0; c < N / kPer; ++c) {
      const uint2 raw = reinterpret_cast<const uint2*>(src)[c];
      const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int i = 0; i < kPer; ++i) dst[c * kPer + i] = toFloat(e[i]);
    }
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) dst[i] = toFloat(src[i]);
  }
}

constexpr int kDecodeThreads = 128;
constexpr int kDecodeWarps = kDecodeThreads / 32;
constexpr int kGroupChunk = 8;  // most query heads accumulated per pass over V (sizes the shared scratch)

// Decode: one block per (sequence, kv head, partition). Q.K: a key per group of kLanesPerKey lanes,
// each lane holding D / kLanesPerKey dims in interleaved 16-byte chunks, so a warp scores 32 / kLanesPerKey
// keys at once for every query head of the group. P.V: a warp takes kPvKeys keys per step, kPvLanes lanes
// per key with one 16-byte load each; lanes, then warps (through shared memory), sum their partials.
template <typename T, int D>
__global__ void __launch_bounds__(kDecodeThreads) decodeKernel(PagedAttentionArgs a, int maxParts, int partSize) {
  constexpr int kLanesPerKey = D >= 32 ? 4 : 2;
  constexpr int kDimsPerLane = D / kLanesPerKey;
  constexpr int kKeysPerWarp = 32 / kLanesPerKey;
  constexpr int kPvDims = 16 / sizeof(T) < D ? 16 / sizeof(T) : D;  // dims per lane in P.V: one 16-byte load
  constexpr int kPvLanes = D / kPvDims;
  constexpr int kPvKeys = 32 / kPvLanes;
  // Query heads per pass over V: 4 with 8 dims per lane keeps the accumulators at 32 registers.
  constexpr int kChunk = kPvDims >= 8 ? 4 : kGroupChunk;
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  const int seq = blockIdx.x, kvHead = blockIdx.y, part = blockIdx.z;
  const int ctxLen = a.seqLens[seq];
  const int start = part * partSize;
  if (start >= ctxLen) return;
  const int n = min(start + partSize, ctxLen) - start;
  const int group = a.numHeads / a.numKvHeads;
  float* qs = smem;                         // [group][D]
  float* logits = qs + group * D;           // [group][partSize]
  float* red = logits + group * partSize;   // [kDecodeWarps][kChunk][D]
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int pvLane = lane % kPvLanes, pvKey = lane / kPvLanes;
  const T* query = static_cast<const T*>(a.query) + static_cast<int64_t>(seq) * a.queryStride;
  const T* keyCache = static_cast<const T*>(a.keyCache);
  const T* valueCache = static_cast<const T*>(a.valueCache);
  const int32_t* blockTable = a.blockTables + static_cast<int64_t>(seq) * a.maxBlocksPerSeq;
  const int64_t kvRow = static_cast<int64_t>(a.numKvHeads) * D;
  auto rowOffset = [&](int kv) {
    return (static_cast<int64_t>(blockTable[kv / a.blockSize]) * a.blockSize + kv % a.blockSize) * kvRow + kvHead * D;
  };

  for (int i = tid; i < group * D; i += kDecodeThreads) qs[i] = toFloat(query[kvHead * group * D + i]) * a.scale;
  __syncthreads();

  const int sub = lane % kLanesPerKey;
  // Interleaved 16-byte chunks: the lanes of a key read adjacent chunks with each load, so one load
  // instruction covers whole 32-byte sectors of every row (lane sub holds chunks sub, sub + kLanesPerKey, ...).
  constexpr int kE = 16 / static_cast<int>(sizeof(T));
  constexpr bool kInterleave = D >= kE && (D / kE) % kLanesPerKey == 0 && kDimsPerLane % kE == 0;
  auto dimOf = [&](int i) { return kInterleave ? ((i / kE) * kLanesPerKey + sub) * kE + i % kE : sub * kDimsPerLane + i; };
  for (int t0 = warp * kKeysPerWarp; t0 < n; t0 += kDecodeWarps * kKeysPerWarp) {
    const int t = t0 + lane / kLanesPerKey;
    float k[kDimsPerLane];
    if (t < n) {
      const T* row = keyCache + rowOffset(start + t);
      if constexpr (kInterleave) {
#pragma unroll
        for (int c = 0; c < kDimsPerLane / kE; ++c) {
          float chunk[kE];
          loadFloats<T, kE>(row + (c * kLanesPerKey + sub) * kE, chunk);
#pragma unroll
          for (int e = 0; e < kE; ++e) k[c * kE + e] = chunk[e];
        }
      } else {
        loadFloats<T, kDimsPerLane>(row + sub * kDimsPerLane, k);
      }
    }
    for (int g = 0; g < group; ++g) {
      float dot = 0.f;
      if (t < n) {
        const float* q = qs + g * D;
#pragma unroll
        for (int i = 0; i < kDimsPerLane; ++i) dot += q[dimOf(i)] * k[i];
      }
#pragma unroll
      for (int o = kLanesPerKey / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
      if (t < n && sub == 0) logits[g * partSize + t] = dot;
    }
  }
  __syncthreads();

  float* partOut = a.workspace;
  const int64_t numParts = static_cast<int64_t>(maxParts);
  float* maxLogits = partOut + static_cast<int64_t>(a.numSeqs) * a.numHeads * numParts * D;
  float* expSums = maxLogits + static_cast<int64_t>(a.numSeqs) * a.numHeads * numParts;
  for (int g = 0; g < group; ++g) {
    float localMax = -INFINITY;
    for (int t = tid; t < n; t += kDecodeThreads) localMax = fmaxf(localMax, logits[g * partSize + t]);
    const float mx = blockMax(localMax, scratch);
    float localSum = 0.f;
    for (int t = tid; t < n; t += kDecodeThreads) {
      const float e = __expf(logits[g * partSize + t] - mx);
      logits[g * partSize + t] = e;
      localSum += e;
    }
    const float sum = blockSum(localSum, scratch);
    if (tid == 0) {
      const int64_t idx = (static_cast<int64_t>(seq) * a.numHeads + kvHead * group + g) * numParts + part;
      maxLogits[idx] = mx;
      expSums[idx] = sum;
    }
  }
  __syncthreads();

  for (int g0 = 0; g0 < group; g0 += kChunk) {
    float acc[kChunk][kPvDims];
#pragma unroll
    for (int j = 0; j < kChunk; ++j)
#pragma unroll
      for (int i = 0; i < kPvDims; ++i) acc[j][i] = 0.f;
    // kPvKeys keys per warp step, kPvLanes lanes per key with one 16-byte load each.
#pragma unroll 4
    for (int t = warp * kPvKeys + pvKey; t < n; t += kDecodeWarps * kPvKeys) {
      float v[kPvDims];
      loadFloats<T, kPvDims>(valueCache + rowOffset(start + t) + pvLane * kPvDims, v);
#pragma unroll
      for (int j = 0; j < kChunk; ++j) {
        if (g0 + j < group) {
          const float p = logits[(g0 + j) * partSize + t];
#pragma unroll
          for (int i = 0; i < kPvDims; ++i) acc[j][i] += p * v[i];
        }
      }
    }
    // Lanes holding the same dims for different keys meet.
#pragma unroll
    for (int o = kPvLanes; o < 32; o <<= 1)
#pragma unroll
      for (int j = 0; j < kChunk; ++j)
#pragma unroll
        for (int i = 0; i < kPvDims; ++i) acc[j][i] += __shfl_xor_sync(0xffffffffu, acc[j][i], o);
    if (lane < kPvLanes) {
#pragma unroll
      for (int j = 0; j < kChunk; ++j)
#pragma unroll
        for (int i = 0; i < kPvDims; ++i) red[(warp * kChunk + j) * D + lane * kPvDims + i] = acc[j][i];
    }
    __syncthreads();
    for (int i = tid; i < kChunk * D; i += kDecodeThreads) {
      const int j = i / D, d = i % D;
      if (g0 + j >= group) continue;
      float sum = 0.f;
#pragma unroll
      for (int w = 0; w < kDecodeWarps; ++w) sum += red[(w * kChunk + j) * D + d];
      const int64_t h = kvHead * group + g0 + j;
      partOut[((static_cast<int64_t>(seq) * a.numHeads + h) * numParts + part) * D + d] = sum;
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void decodeReduceKernel(PagedAttentionArgs a, int maxParts, int partSize) {
  const int seq = blockIdx.x, head = blockIdx.y, D = a.headDim;
  const int ctxLen = a.seqLens[seq];
  const int numParts = (ctxLen + partSize - 1) / partSize;
  const int64_t np = maxParts;
  const float* partOut = a.workspace;
  const float* maxLogits = partOut + static_cast<int64_t>(a.numSeqs) * a.numHeads * np * D;
  const float* expSums = maxLogits + static_cast<int64_t>(a.numSeqs) * a.numHeads * np;
  const int64_t base = (static_cast<int64_t>(seq) * a.numHeads + head) * np;
  float globalMax = -INFINITY;
  for (int p = 0; p < numParts; ++p) globalMax = fmaxf(globalMax, maxLogits[base + p]);
  float total = 0.f;
  for (int p = 0; p < numParts; ++p) total += expSums[base + p] * __expf(maxLogits[base + p] - globalMax);
  const float inv = total > 0.f ? 1.f / total : 0.f;
  T* out = static_cast<T*>(a.out) + (static_cast<int64_t>(seq) * a.numHeads + head) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.f;
    for (int p = 0; p < numParts; ++p) acc += __expf(maxLogits[base + p] - globalMax) * partOut[(base + p) * D + d];
    out[d] = fromFloat<T>(acc * inv);
  }
}

template <typename T, int D>
cudaError_t prefillFor(const PagedAttentionArgs& a, cudaStream_t stream) {
  constexpr size_t smem = prefillSmemBytes<D>();
  static bool configured = false;
  if (!configured) {
    const cudaError_t e =
        cudaFuncSetAttribute(prefillKernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
    configured = true;
  }
  const dim3 grid((a.maxQueryLen + kTileQ - 1) / kTileQ, a.numHeads, a.numSeqs);
  prefillKernel<T, D><<<grid, kThreads, smem, stream>>>(a);
  return cudaGetLastError();
}

template <typename T, int D>
cudaError_t decodeFor(const PagedAttentionArgs& a, cudaStream_t stream) {
  const int partSize = decodePartitionSize(a.numSeqs, a.numKvHeads, a.maxSeqLen);
  const int maxParts = (a.maxSeqLen + partSize - 1) / partSize;
  const int group = a.numHeads / a.numKvHeads;
  const size_t smem = sizeof(float) * (group * D + group * partSize + kDecodeWarps * kGroupChunk * D);
  if (smem > 48 * 1024) {
    const cudaError_t e =
        cudaFuncSetAttribute(decodeKernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  decodeKernel<T, D><<<dim3(a.numSeqs, a.numKvHeads, maxParts), kDecodeThreads, smem, stream>>>(a, maxParts, partSize);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  decodeReduceKernel<T><<<dim3(a.numSeqs, a.numHeads), D >= 128 ? 128 : 32 * ((D + 31) / 32), 0, stream>>>(a, maxParts, partSize);
  return cudaGetLastError();
}

#define VLLM_DISPATCH_HEAD_DIM(headDim, FN, T, a, stream) \
  switch (headDim) {                                      \
    case 8: return FN<T, 8>(a, stream);                   \
    case 16: return FN<T, 16>(a, stream);                 \
    case 32: return FN<T, 32>(a, stream);                 \
    case 64: return FN<T, 64>(a, stream);                 \
    case 128: return FN<T, 128>(a, stream);               \
    default: return cudaErrorInvalidValue;                \
  }

}  // namespace

int decodePartitionSize(int numSeqs, int numKvHeads, int maxSeqLen) {
  // Halve 512-token partitions until the grid covers the GPU about twice (small batches, short contexts).
  int size = kDecodePartitionSize;
  while (size > 64 && static_cast<int64_t>(numSeqs) * numKvHeads * ((maxSeqLen + size - 1) / size) < 264) size /= 2;
  return size;
}

int64_t decodeWorkspaceFloats(int numSeqs, int numHeads, int numKvHeads, int headDim, int maxSeqLen) {
  const int64_t size = decodePartitionSize(numSeqs, numKvHeads, maxSeqLen);
  const int64_t parts = (maxSeqLen + size - 1) / size;
  return static_cast<int64_t>(numSeqs) * numHeads * parts * (headDim + 2);
}

cudaError_t launchPagedAttentionPrefill(const PagedAttentionArgs& a, cudaStream_t stream) {
  if (a.numSeqs == 0 || a.maxQueryLen == 0) return cudaSuccess;
  if (canUsePrefillFa2(a)) return launchPrefillFa2(a, stream);
  if (canUsePrefillMma(a)) return launchPrefillMma(a, stream);
  return VLLM_DISPATCH_FLOAT(a.dtype, { VLLM_DISPATCH_HEAD_DIM(a.headDim, prefillFor, scalar_t, a, stream) });
}

cudaError_t launchPagedAttentionDecode(const PagedAttentionArgs& a, cudaStream_t stream) {
  if (a.numSeqs == 0 || a.maxSeqLen == 0) return cudaSuccess;
  return VLLM_DISPATCH_FLOAT(a.dtype, { VLLM_DISPATCH_HEAD_DIM(a.headDim, decodeFor, scalar_t, a, stream) });
}

}  // namespace vllm_cuda
