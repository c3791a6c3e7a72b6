// Attention over the paged KV cache. Cache layout per layer: [numBlocks, blockSize, numKvHeads, headDim],
// keys and values in separate allocations; a sequence's token t lives in block blockTables[seq][t / blockSize].
//
// Prefill (bf16/fp16 with aligned rows go to the tensor-core kernel in attention-prefill-mma.cu; this one
// serves float32, head dim 8 and unaligned views): one block per (32 query tokens, head, sequence), tiles of 32 keys in shared memory, online
// softmax (running max m and sum l per query row), causal by position: query i of a sequence with
// qLen new tokens and seqLen context tokens sits at position seqLen - qLen + i.
// Decode: split-K over partitions of 64-512 tokens, merged by their (max, sum) pairs. Small grids (batch 1)
// take one launch (splitDecodeKernel: the last block of each (sequence, kv head) merges); larger ones two
// (decodeKernel: one block per (sequence, kv head, partition), then decodeReduceKernel).
#include "attention-prefill-fa2.h"
#include "attention-prefill-mma.h"
#include "common.cuh"

#include <cstdlib>
#include <cstring>

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
  gridDependencyWait();  // launched programmatically (decodeFor)
  gridDependentsLaunch();
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
  gridDependencyWait();  // launched programmatically (decodeFor)
  gridDependentsLaunch();
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

// Split-K decode in one launch. One block of kSplitWarps warps per (partition, kv head, sequence), the
// partition walked in tiles of kTile keys. A lane holds one 16-byte chunk of a key row (kLanes lanes per
// key, kKeysPerStep keys per warp load); a warp owns kSteps consecutive loads' keys of each tile and keeps a
// running softmax (max m, sum l, unnormalized output acc) for G query heads of the group. Every load of a
// tile is issued before its first use; q, block ids and the sequence length are in flight together. The
// warps meet once in shared memory. A sequence covered by one partition is written directly; otherwise
// each block writes its partial (m, l, acc) and the last block of the (sequence, kv head) to arrive
// (counted in the workspace) merges them. Scores live in the log2 domain (scale * log2 e folded in).
constexpr int kSplitWarps = 8;
constexpr int kSplitThreads = kSplitWarps * 32;
// High word of a live arrival counter: a NaN payload no arithmetic produces, so a counter word that holds
// anything else (first use, or another launch's partials) is recognized and reset to zero arrivals.
constexpr unsigned long long kCounterTag = 0x7FA5C0DEull << 32;

template <typename T, int D> struct SplitShape {
  static constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  static constexpr int kLanes = D / kVec;
  static constexpr int kKeysPerStep = 32 / kLanes;
  static constexpr int kRawSteps = 64 / (kSplitWarps * kKeysPerStep);
  static constexpr int kSteps = kRawSteps < 1 ? 1 : kRawSteps > 4 ? 4 : kRawSteps;
  static constexpr int kTile = kSplitWarps * kKeysPerStep * kSteps;
  static_assert(kLanes >= 1 && kLanes <= 32 && D % kVec == 0, "a key row must be 1 to 32 16-byte chunks");
};

__device__ __forceinline__ float fastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Floats the counters take at the front of the workspace: one 8-byte word per (sequence, kv head), plus
// padding that lets them start on an 8-byte boundary.
__host__ __device__ __forceinline__ int64_t counterFloats(int numSeqs, int numKvHeads) {
  return 2 * static_cast<int64_t>(numSeqs) * numKvHeads + 2;
}

// q (floats in shared memory, 16-byte aligned) . k (one 16-byte chunk of T).
template <typename T>
__device__ __forceinline__ float dot16(const float* q, const uint4& kRaw) {
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  const T* k = reinterpret_cast<const T*>(&kRaw);
  float s = 0.f;
#pragma unroll
  for (int c = 0; c < kVec / 4; ++c) {
    const float4 qc = reinterpret_cast<const float4*>(q)[c];
    s += qc.x * toFloat(k[4 * c]) + qc.y * toFloat(k[4 * c + 1]) + qc.z * toFloat(k[4 * c + 2]) + qc.w * toFloat(k[4 * c + 3]);
  }
  return s;
}

template <typename T, int D, int G>
__global__ void __launch_bounds__(kSplitThreads, G <= 4 ? 2 : 1)
    splitDecodeKernel(PagedAttentionArgs a, int maxParts, int partSize, float scaleLog2) {
  using S = SplitShape<T, D>;
  constexpr int kVec = S::kVec, kLanes = S::kLanes, kKps = S::kKeysPerStep, kSteps = S::kSteps, kTile = S::kTile;
  __shared__ float sM[kSplitWarps][G];
  __shared__ float sL[kSplitWarps][G];
  __shared__ __align__(16) float sAcc[kSplitWarps][G][D];
  __shared__ __align__(16) float sQ[G][D];  // this chunk's query heads, times scaleLog2
  __shared__ bool sLast;
  // Launched programmatically: the next kernel (the output projection) starts its blocks, and its
  // weight prefetch, once every block of this one has passed the wait.
  gridDependencyWait();
  gridDependentsLaunch();

  const int part = blockIdx.x, kvHead = blockIdx.y, seq = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int sub = lane % kLanes;
  const int warpKey = warp * kSteps * kKps + lane / kLanes;  // this lane's key of step 0, within a tile
  const int group = a.numHeads / a.numKvHeads;
  const int start = part * partSize;
  const int partEnd = min(start + partSize, a.maxSeqLen);
  const int32_t* blockTable = a.blockTables + static_cast<int64_t>(seq) * a.maxBlocksPerSeq;
  const int64_t kvRow = static_cast<int64_t>(a.numKvHeads) * D;
  const T* query = static_cast<const T*>(a.query) + static_cast<int64_t>(seq) * a.queryStride;
  const uint4* keyCache = static_cast<const uint4*>(a.keyCache);
  const uint4* valueCache = static_cast<const uint4*>(a.valueCache);
  // Block ids of a tile's keys; keys below maxSeqLen index inside the table (the host checks
  // maxSeqLen <= maxBlocksPerSeq * blockSize), entries past the sequence's length are never dereferenced.
  auto loadBlocks = [&](int tileStart, int (&blk)[kSteps]) {
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const int t = tileStart + warpKey + s * kKps;
      blk[s] = t < partEnd ? blockTable[t / a.blockSize] : 0;
    }
  };
  int blk[kSteps];
  loadBlocks(start, blk);
  const int ctxLen = min(a.seqLens[seq], a.maxSeqLen);
  T* out = static_cast<T*>(a.out) + static_cast<int64_t>(seq) * a.numHeads * D;
  if (ctxLen <= 0 && part == 0) {  // an empty (padding) sequence attends to nothing: zeros, as the two-pass kernel
    for (int i = tid; i < group * D; i += kSplitThreads) out[kvHead * group * D + i] = fromFloat<T>(0.f);
  }
  if (start >= ctxLen) return;  // graphs are captured for maxSeqLen; this sequence is shorter
  const int end = min(partEnd, ctxLen);
  const int numParts = (ctxLen + partSize - 1) / partSize;
  auto* counters = reinterpret_cast<unsigned long long*>((reinterpret_cast<uintptr_t>(a.workspace) + 7) & ~uintptr_t{7});
  unsigned long long* counter = counters + static_cast<int64_t>(seq) * a.numKvHeads + kvHead;
  const int64_t statsStride = static_cast<int64_t>(a.numSeqs) * a.numHeads * maxParts;
  float* maxLogits = a.workspace + counterFloats(a.numSeqs, a.numKvHeads);
  float* expSums = maxLogits + statsStride;
  float* partOut = expSums + statsStride;

  for (int g0 = 0; g0 < group; g0 += G) {
    if (g0 > 0) loadBlocks(start, blk);
    // One 16-byte chunk of q per thread, stored to sQ once this chunk's first tile loads are issued.
    constexpr int kQChunks = G * D / kVec;
    static_assert(kQChunks <= kSplitThreads, "one q chunk per thread");
    float qf[kVec];
    const int qg = tid / (D / kVec);
    if (tid < kQChunks) {
      if (g0 + qg < group) {
        loadFloats<T, kVec>(query + (kvHead * group + g0 + qg) * D + (tid % (D / kVec)) * kVec, qf);
      } else {
#pragma unroll
        for (int i = 0; i < kVec; ++i) qf[i] = 0.f;
      }
    }
    float m[G], l[G], acc[G][kVec];
#pragma unroll
    for (int g = 0; g < G; ++g) {
      m[g] = -INFINITY;
      l[g] = 0.f;
#pragma unroll
      for (int i = 0; i < kVec; ++i) acc[g][i] = 0.f;
    }
    for (int tileStart = start; tileStart < end; tileStart += kTile) {
      uint4 kr[kSteps], vr[kSteps];
#pragma unroll
      for (int s = 0; s < kSteps; ++s) {
        const int t = tileStart + warpKey + s * kKps;
        if (t < end) {
          const int64_t row = ((static_cast<int64_t>(blk[s]) * a.blockSize + t % a.blockSize) * kvRow + kvHead * D) / kVec + sub;
          kr[s] = __ldg(keyCache + row);
          vr[s] = __ldg(valueCache + row);
        } else {
          kr[s] = vr[s] = make_uint4(0, 0, 0, 0);
        }
      }
      loadBlocks(tileStart + kTile, blk);
      if (tileStart == start) {
        if (tid < kQChunks) {
#pragma unroll
          for (int i = 0; i < kVec; ++i) sQ[qg][(tid % (D / kVec)) * kVec + i] = qf[i] * scaleLog2;
        }
        // The counter check rides on the first tile's loads: thread 0 must see a tagged counter before it arrives.
        if (tid == 0 && g0 == 0 && numParts > 1) {
          const unsigned long long cur = atomicAdd(counter, 0ull);
          if ((cur & ~0xffffffffull) != kCounterTag) atomicCAS(counter, cur, kCounterTag);
        }
        __syncthreads();
      }
      float sc[kSteps][G];
#pragma unroll
      for (int s = 0; s < kSteps; ++s) {
        const bool valid = tileStart + warpKey + s * kKps < end;
#pragma unroll
        for (int g = 0; g < G; ++g) {
          float d = dot16<T>(&sQ[g][sub * kVec], kr[s]);
#pragma unroll
          for (int o = kLanes / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
          sc[s][g] = valid && g0 + g < group ? d : -INFINITY;
        }
      }
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float tileMax = sc[0][g];
#pragma unroll
        for (int s = 1; s < kSteps; ++s) tileMax = fmaxf(tileMax, sc[s][g]);
#pragma unroll
        for (int o = kLanes; o < 32; o <<= 1) tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, o));
        const float mNew = fmaxf(m[g], tileMax);
        // A head with no valid key yet keeps m = -inf; subtracting 0 instead keeps every exponent -inf (p = 0), never NaN.
        const float mUse = mNew == -INFINITY ? 0.f : mNew;
        const float alpha = fastExp2(m[g] - mUse);
        m[g] = mNew;
        l[g] *= alpha;
#pragma unroll
        for (int i = 0; i < kVec; ++i) acc[g][i] *= alpha;
#pragma unroll
        for (int s = 0; s < kSteps; ++s) {
          const float p = fastExp2(sc[s][g] - mUse);
          l[g] += p;
          const T* v = reinterpret_cast<const T*>(&vr[s]);
#pragma unroll
          for (int i = 0; i < kVec; ++i) acc[g][i] += p * toFloat(v[i]);
        }
      }
    }
    // Lanes of different keys meet; m is already warp-uniform.
#pragma unroll
    for (int o = kLanes; o < 32; o <<= 1) {
#pragma unroll
      for (int g = 0; g < G; ++g) {
        l[g] += __shfl_xor_sync(0xffffffffu, l[g], o);
#pragma unroll
        for (int i = 0; i < kVec; ++i) acc[g][i] += __shfl_xor_sync(0xffffffffu, acc[g][i], o);
      }
    }
    if (lane < kLanes) {
#pragma unroll
      for (int g = 0; g < G; ++g)
#pragma unroll
        for (int i = 0; i < kVec; ++i) sAcc[warp][g][lane * kVec + i] = acc[g][i];
    }
    if (lane == 0) {
#pragma unroll
      for (int g = 0; g < G; ++g) {
        sM[warp][g] = m[g];
        sL[warp][g] = l[g];
      }
    }
    __syncthreads();
    for (int idx = tid; idx < G * D; idx += kSplitThreads) {
      const int g = idx / D, d = idx % D;
      if (g0 + g >= group) break;  // idx grows with g
      float mx = -INFINITY;
#pragma unroll
      for (int w = 0; w < kSplitWarps; ++w) mx = fmaxf(mx, sM[w][g]);
      const float mUse = mx == -INFINITY ? 0.f : mx;
      float sum = 0.f, o = 0.f;
#pragma unroll
      for (int w = 0; w < kSplitWarps; ++w) {
        const float c = fastExp2(sM[w][g] - mUse);
        sum += c * sL[w][g];
        o += c * sAcc[w][g][d];
      }
      const int h = kvHead * group + g0 + g;
      if (numParts == 1) {
        out[h * D + d] = fromFloat<T>(sum > 0.f ? o / sum : 0.f);
      } else {
        const int64_t idxPart = (static_cast<int64_t>(seq) * a.numHeads + h) * maxParts + part;
        partOut[idxPart * D + d] = o;
        if (d == 0) {
          maxLogits[idxPart] = mx;
          expSums[idxPart] = sum;
        }
      }
    }
    __syncthreads();  // sAcc/sM/sL are reused by the next group chunk
  }
  if (numParts == 1) return;

  // Publish the partial, then arrive; the last block to arrive resets the counter and merges.
  __threadfence();
  __syncthreads();
  if (tid == 0) {
    const unsigned long long before = atomicAdd(counter, 1ull);
    const bool last = static_cast<int>(before & 0xffffffffull) + 1 == numParts;
    if (last) atomicExch(counter, kCounterTag);
    sLast = last;
  }
  __syncthreads();
  if (!sLast) return;
  __threadfence();
  for (int idx = tid; idx < group * D; idx += kSplitThreads) {
    const int g = idx / D, d = idx % D, h = kvHead * group + g;
    const int64_t base = (static_cast<int64_t>(seq) * a.numHeads + h) * maxParts;
    float mx = -INFINITY, sum = 0.f, o = 0.f;
#pragma unroll 4
    for (int p = 0; p < numParts; ++p) {
      const float mp = __ldcg(maxLogits + base + p);
      const float lp = __ldcg(expSums + base + p);
      const float op = __ldcg(partOut + (base + p) * D + d);
      const float mNew = fmaxf(mx, mp);
      const float mUse = mNew == -INFINITY ? 0.f : mNew;
      const float alpha = fastExp2(mx - mUse), beta = fastExp2(mp - mUse);
      sum = sum * alpha + lp * beta;
      o = o * alpha + op * beta;
      mx = mNew;
    }
    out[h * D + d] = fromFloat<T>(sum > 0.f ? o / sum : 0.f);
  }
}

// The split kernel needs 16-byte loads of q and of cache rows.
template <typename T>
bool canUseSplitDecode(const PagedAttentionArgs& a) {
  return aligned16(a.query) && aligned16(a.keyCache) && aligned16(a.valueCache) &&
         (a.queryStride * static_cast<int64_t>(sizeof(T))) % 16 == 0;
}

template <typename T, int D, int G>
cudaError_t launchSplitDecode(const PagedAttentionArgs& a, int partSize, cudaStream_t stream) {
  const int maxParts = (a.maxSeqLen + partSize - 1) / partSize;
  const float scaleLog2 = a.scale * 1.4426950408889634f;
  return launchKernel(splitDecodeKernel<T, D, G>, dim3(maxParts, a.numKvHeads, a.numSeqs), dim3(kSplitThreads), 0, stream,
                      a, maxParts, partSize, scaleLog2);
}

// The one-launch kernel runs for grids of at most this many (sequence, kv head) pairs. Measured on an H200
// (2026-11-30): at 8 pairs (Llama-3.1-8B batch 1) it saves 3-5 us per layer in a decode step; at 64 pairs
// and more the two-pass kernels are 0-17% faster (their smaller blocks keep more of them resident).
constexpr int kOneLaunchMaxPairs = 8;

// VLLM_TS_DECODE_ATTENTION=one-launch or =two-pass forces a kernel (tests, benchmarks); otherwise the grid
// decides. Read at every launch, so one process can compare both; a captured graph keeps its choice.
bool useOneLaunchDecode(const PagedAttentionArgs& a) {
  const char* v = std::getenv("VLLM_TS_DECODE_ATTENTION");
  if (v != nullptr && std::strcmp(v, "one-launch") == 0) return true;
  if (v != nullptr && std::strcmp(v, "two-pass") == 0) return false;
  return static_cast<int64_t>(a.numSeqs) * a.numKvHeads <= kOneLaunchMaxPairs;
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
  const int group = a.numHeads / a.numKvHeads;
  if (useOneLaunchDecode(a) && canUseSplitDecode<T>(a)) {
    if (group == 1) return launchSplitDecode<T, D, 1>(a, partSize, stream);
    if (group == 2) return launchSplitDecode<T, D, 2>(a, partSize, stream);
    if (group <= 4) return launchSplitDecode<T, D, 4>(a, partSize, stream);
    return launchSplitDecode<T, D, 8>(a, partSize, stream);
  }
  const int maxParts = (a.maxSeqLen + partSize - 1) / partSize;
  const size_t smem = sizeof(float) * (group * D + group * partSize + kDecodeWarps * kGroupChunk * D);
  if (smem > 48 * 1024) {
    const cudaError_t e =
        cudaFuncSetAttribute(decodeKernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  const cudaError_t e = launchKernel(decodeKernel<T, D>, dim3(a.numSeqs, a.numKvHeads, maxParts), dim3(kDecodeThreads),
                                     smem, stream, a, maxParts, partSize);
  if (e != cudaSuccess) return e;
  return launchKernel(decodeReduceKernel<T>, dim3(a.numSeqs, a.numHeads), dim3(D >= 128 ? 128 : 32 * ((D + 31) / 32)), 0,
                      stream, a, maxParts, partSize);
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
  // The split kernel's counters, then partial outputs and their (max, sum) pairs; the two-pass kernel
  // uses the same partials from offset 0 and fits in this.
  return counterFloats(numSeqs, numKvHeads) + static_cast<int64_t>(numSeqs) * numHeads * parts * (headDim + 2);
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
