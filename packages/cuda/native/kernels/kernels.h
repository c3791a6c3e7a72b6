// Host-callable launchers of the CUDA kernels. Pure C++: no Node headers, so the kernels build
// and can be reused without the binding. Every launcher enqueues on `stream` and returns the
// launch status (cudaGetLastError); none synchronizes.
#pragma once
#include <cuda_runtime.h>
#include <cstdint>

namespace vllm_cuda {

// Programmatic dependent launch of the decode-path kernels (see launchKernel in common.cuh). Requested
// unless the environment sets VLLM_TS_PDL=0; active only where supported: a device of compute
// capability 9.0 or newer running this library's sm_90+ machine code (not PTX of an older target,
// whose kernels lack the dependency wait).
bool programmaticLaunchSupported();
bool programmaticLaunchActive();
// Sets the request; returns whether programmatic launch is now active. Affects later launches and
// later graph captures only.
bool setProgrammaticLaunch(bool requested);
// L2 bytes of the current device (cached after the first call; 0 when unknown).
int64_t l2CacheBytes();

// Matches the TypeScript DType codes in src/dtype.ts.
enum class DType : int { F32 = 0, F16 = 1, BF16 = 2, I32 = 3 };

cudaError_t launchEmbedding(DType dtype, void* out, const int32_t* ids, const void* table, int64_t numTokens,
                            int64_t vocabSize, int64_t hidden, cudaStream_t stream);

cudaError_t launchRmsNorm(DType dtype, void* out, const void* input, const void* weight, float eps, int64_t numTokens,
                          int64_t hidden, cudaStream_t stream);

// residual += input (rounded to dtype), then input = rmsNorm(residual) * weight; both in place.
cudaError_t launchFusedAddRmsNorm(DType dtype, void* input, void* residual, const void* weight, float eps,
                                  int64_t numTokens, int64_t hidden, cudaStream_t stream);

// Neox-layout rotary embedding in place on q and k. cosSin is float32 [maxPosition, rotaryDim]:
// the first rotaryDim/2 columns are cos, the rest sin. Strides are in elements between tokens.
cudaError_t launchRopeNeox(DType dtype, const int32_t* positions, void* q, int64_t qStride, void* k, int64_t kStride,
                           const float* cosSin, int64_t numTokens, int numHeads, int numKvHeads, int headDim,
                           int rotaryDim, cudaStream_t stream);

// Copies key/value rows [numTokens, numKvHeads*headDim] into caches [numBlocks, blockSize, numKvHeads, headDim]
// at slotMapping[t] (a negative slot skips the token).
cudaError_t launchWriteKvCache(DType dtype, const void* key, int64_t keyStride, const void* value, int64_t valueStride,
                               void* keyCache, void* valueCache, const int32_t* slotMapping, int64_t numTokens,
                               int numKvHeads, int headDim, cudaStream_t stream);

struct RopeWriteKvArgs {
  DType dtype;
  const int32_t* positions;  // [numTokens]
  void* q;                   // [numTokens, numHeads*headDim] with row stride qStride (elements), rotated in place
  int64_t qStride;
  void* k;  // [numTokens, numKvHeads*headDim], stride kStride, rotated in place
  int64_t kStride;
  const void* v;  // [numTokens, numKvHeads*headDim], stride vStride
  int64_t vStride;
  const float* cosSin;  // float32 [maxPosition, rotaryDim], as launchRopeNeox
  void* keyCache;       // [numBlocks, blockSize, numKvHeads, headDim]
  void* valueCache;
  const int32_t* slotMapping;  // [numTokens]; a negative slot skips the cache writes
  int64_t numTokens;
  int numHeads;
  int numKvHeads;
  int headDim;
  int rotaryDim;
};

// launchRopeNeox then launchWriteKvCache of the rotated keys, in one launch where rows allow 16-byte access.
cudaError_t launchRopeNeoxWriteKv(const RopeWriteKvArgs& args, cudaStream_t stream);

struct PagedAttentionArgs {
  DType dtype;
  void* out;  // [numTokens, numHeads*headDim], contiguous
  const void* query;
  int64_t queryStride;
  const void* keyCache;
  const void* valueCache;
  const int32_t* blockTables;  // [numSeqs, maxBlocksPerSeq]
  int maxBlocksPerSeq;
  const int32_t* seqLens;        // [numSeqs] tokens in context, this step's included
  const int32_t* queryStartLoc;  // [numSeqs + 1] (prefill only)
  int numSeqs;
  int maxQueryLen;  // prefill only
  int maxSeqLen;    // decode: bounds the number of partitions
  int numHeads;
  int numKvHeads;
  int headDim;
  int blockSize;
  float scale;
  float* workspace;  // decode only; see decodeWorkspaceFloats
};

cudaError_t launchPagedAttentionPrefill(const PagedAttentionArgs& args, cudaStream_t stream);
cudaError_t launchPagedAttentionDecode(const PagedAttentionArgs& args, cudaStream_t stream);
// Floats of scratch the split-K decode kernels need: one arrival counter per (sequence, kv head) for the
// one-launch kernel (kept tagged and reset by the kernel itself, so the workspace needs no initialization
// and a captured graph replays), then a partial output and its (max, sum) per (sequence, head, partition).
int64_t decodeWorkspaceFloats(int numSeqs, int numHeads, int numKvHeads, int headDim, int maxSeqLen);
// Tokens of context each split of the decode kernel covers: at most kDecodePartitionSize, halved
// (down to 64) while the grid would cover fewer than ~2 waves of a 132-SM GPU.
int decodePartitionSize(int numSeqs, int numKvHeads, int maxSeqLen);
constexpr int kDecodePartitionSize = 512;

// Skinny GEMM for decode: out[m, n] = alpha * a[m, k] . w[n, k]^T + beta * out, 16-bit inputs, fp32 accumulate,
// out of the input dtype or float32. Row strides in elements.
struct GemvArgs {
  DType inType;
  DType outType;
  void* out;
  const void* a;
  const void* w;
  int64_t m, n, k;
  int64_t lda, ldw, ldc;
  float alpha, beta;
  // out[m, n] = silu(a . w[0:n]^T) * (a . w[n:2n]^T), each product rounded to the output type first;
  // w then has 2n rows. Requires outType == inType, alpha == 1, beta == 0.
  bool siluAndMul = false;
};
constexpr int kGemvMaxRows = 8;
// True for bf16/fp16 inputs, m in [1, kGemvMaxRows], k % 8 == 0 and 16-byte-aligned rows.
bool canUseGemv(const GemvArgs& args);
// cudaErrorInvalidValue when !canUseGemv(args).
cudaError_t launchGemv(const GemvArgs& args, cudaStream_t stream);

// The qkv projection of up to 8 tokens fused with neox RoPE over the whole head dim and the KV-cache write:
// gemv into out = [m, (numHeads + 2 * numKvHeads) * headDim] (the q, k, v rows), then q and k heads
// rotated in place at positions[i], and k, v copied into their cache slots (slotMapping[i] < 0 skips the
// copies). Equal to launchGemv then launchRopeNeoxWriteKv with rotaryDim == headDim.
struct GemvRopeKvArgs {
  GemvArgs gemv;  // alpha 1, beta 0, outType == inType
  const int32_t* positions;
  const float* cosSin;  // float32 [maxPosition, headDim]
  void* keyCache;       // [numBlocks, blockSize, numKvHeads, headDim]
  void* valueCache;
  const int32_t* slotMapping;
  int numHeads;
  int numKvHeads;
  int headDim;
};
bool canUseGemvRopeKv(const GemvRopeKvArgs& args);
// cudaErrorInvalidValue when !canUseGemvRopeKv(args).
cudaError_t launchGemvRopeKv(const GemvRopeKvArgs& args, cudaStream_t stream);

cudaError_t launchSiluAndMul(DType dtype, void* out, const void* input, int64_t numTokens, int64_t d,
                             cudaStream_t stream);

cudaError_t launchArgmax(DType dtype, int32_t* out, const void* logits, int64_t numRows, int64_t vocabSize,
                         cudaStream_t stream);

struct SampleArgs {
  int32_t* out;
  const float* logits;  // [numRows, vocabSize]
  int64_t numRows;
  int64_t vocabSize;
  const float* temperature;
  const int32_t* topK;
  const float* topP;
  const float* minP;
  const float* uniform;  // one draw in [0, 1) per row
};
cudaError_t launchSample(const SampleArgs& args, cudaStream_t stream);

struct PenaltyArgs {
  float* logits;  // [numRows, vocabSize], in place
  int32_t* counts;  // workspace [numRows, vocabSize]
  int64_t numRows;
  int64_t vocabSize;
  const int32_t* promptTokens;  // [numRows, promptWidth], negative = padding
  int64_t promptWidth;
  const int32_t* outputTokens;  // [numRows, outputWidth], negative = padding
  int64_t outputWidth;
  const float* repetition;
  const float* frequency;
  const float* presence;
};
cudaError_t launchApplyPenalties(const PenaltyArgs& args, cudaStream_t stream);

}  // namespace vllm_cuda
