// Kernel glue: unwraps positional arguments (validated by src/ops/*.ts) and launches. Every launch
// status goes through CUDA_TRY.
#include "cuda-check.h"
#include "kernels/kernels.h"

namespace vllm_cuda {
namespace {

using Napi::CallbackInfo;
using Napi::Value;

DType dtypeArg(const CallbackInfo& info, size_t i) { return static_cast<DType>(intArg(info, i)); }
template <typename T> T* p(const CallbackInfo& info, size_t i) { return static_cast<T*>(ptrArg(info, i)); }

// (dtype, out, ids, table, numTokens, vocabSize, hidden, stream)
Value Embedding(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchEmbedding(dtypeArg(info, 0), ptrArg(info, 1), p<int32_t>(info, 2), ptrArg(info, 3),
                                       intArg(info, 4), intArg(info, 5), intArg(info, 6), streamArg(info, 7)));
  return info.Env().Undefined();
}

// (dtype, out, input, weight, eps, numTokens, hidden, stream)
Value RmsNorm(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchRmsNorm(dtypeArg(info, 0), ptrArg(info, 1), ptrArg(info, 2), ptrArg(info, 3),
                                     static_cast<float>(numberArg(info, 4)), intArg(info, 5), intArg(info, 6),
                                     streamArg(info, 7)));
  return info.Env().Undefined();
}

// (dtype, input, residual, weight, eps, numTokens, hidden, stream)
Value FusedAddRmsNorm(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchFusedAddRmsNorm(dtypeArg(info, 0), ptrArg(info, 1), ptrArg(info, 2), ptrArg(info, 3),
                                             static_cast<float>(numberArg(info, 4)), intArg(info, 5), intArg(info, 6),
                                             streamArg(info, 7)));
  return info.Env().Undefined();
}

// (dtype, positions, q, qStride, k, kStride, cosSin, numTokens, numHeads, numKvHeads, headDim, rotaryDim, stream)
Value RopeNeox(const CallbackInfo& info) {
  CUDA_TRY(info.Env(),
           launchRopeNeox(dtypeArg(info, 0), p<int32_t>(info, 1), ptrArg(info, 2), intArg(info, 3), ptrArg(info, 4),
                          intArg(info, 5), p<float>(info, 6), intArg(info, 7), static_cast<int>(intArg(info, 8)),
                          static_cast<int>(intArg(info, 9)), static_cast<int>(intArg(info, 10)),
                          static_cast<int>(intArg(info, 11)), streamArg(info, 12)));
  return info.Env().Undefined();
}

// (dtype, key, keyStride, value, valueStride, keyCache, valueCache, slotMapping, numTokens, numKvHeads, headDim, stream)
Value WriteKvCache(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchWriteKvCache(dtypeArg(info, 0), ptrArg(info, 1), intArg(info, 2), ptrArg(info, 3),
                                          intArg(info, 4), ptrArg(info, 5), ptrArg(info, 6), p<int32_t>(info, 7),
                                          intArg(info, 8), static_cast<int>(intArg(info, 9)),
                                          static_cast<int>(intArg(info, 10)), streamArg(info, 11)));
  return info.Env().Undefined();
}

// (dtype, positions, q, qStride, k, kStride, v, vStride, cosSin, keyCache, valueCache, slotMapping, numTokens,
//  numHeads, numKvHeads, headDim, rotaryDim, stream)
Value RopeNeoxWriteKv(const CallbackInfo& info) {
  RopeWriteKvArgs a{};
  a.dtype = dtypeArg(info, 0);
  a.positions = p<int32_t>(info, 1);
  a.q = ptrArg(info, 2);
  a.qStride = intArg(info, 3);
  a.k = ptrArg(info, 4);
  a.kStride = intArg(info, 5);
  a.v = ptrArg(info, 6);
  a.vStride = intArg(info, 7);
  a.cosSin = p<float>(info, 8);
  a.keyCache = ptrArg(info, 9);
  a.valueCache = ptrArg(info, 10);
  a.slotMapping = p<int32_t>(info, 11);
  a.numTokens = intArg(info, 12);
  a.numHeads = static_cast<int>(intArg(info, 13));
  a.numKvHeads = static_cast<int>(intArg(info, 14));
  a.headDim = static_cast<int>(intArg(info, 15));
  a.rotaryDim = static_cast<int>(intArg(info, 16));
  CUDA_TRY(info.Env(), launchRopeNeoxWriteKv(a, streamArg(info, 17)));
  return info.Env().Undefined();
}

// (dtype, out, query, queryStride, keyCache, valueCache, blockTables, maxBlocksPerSeq, seqLens, queryStartLoc,
//  numSeqs, maxQueryLen, maxSeqLen, numHeads, numKvHeads, headDim, blockSize, scale, workspace, stream, isDecode)
Value PagedAttention(const CallbackInfo& info) {
  PagedAttentionArgs a{};
  a.dtype = dtypeArg(info, 0);
  a.out = ptrArg(info, 1);
  a.query = ptrArg(info, 2);
  a.queryStride = intArg(info, 3);
  a.keyCache = ptrArg(info, 4);
  a.valueCache = ptrArg(info, 5);
  a.blockTables = p<int32_t>(info, 6);
  a.maxBlocksPerSeq = static_cast<int>(intArg(info, 7));
  a.seqLens = p<int32_t>(info, 8);
  a.queryStartLoc = p<int32_t>(info, 9);
  a.numSeqs = static_cast<int>(intArg(info, 10));
  a.maxQueryLen = static_cast<int>(intArg(info, 11));
  a.maxSeqLen = static_cast<int>(intArg(info, 12));
  a.numHeads = static_cast<int>(intArg(info, 13));
  a.numKvHeads = static_cast<int>(intArg(info, 14));
  a.headDim = static_cast<int>(intArg(info, 15));
  a.blockSize = static_cast<int>(intArg(info, 16));
  a.scale = static_cast<float>(numberArg(info, 17));
  a.workspace = p<float>(info, 18);
  const bool isDecode = info[20].ToBoolean();
  CUDA_TRY(info.Env(), isDecode ? launchPagedAttentionDecode(a, streamArg(info, 19))
                                : launchPagedAttentionPrefill(a, streamArg(info, 19)));
  return info.Env().Undefined();
}

// (numSeqs, numHeads, numKvHeads, headDim, maxSeqLen) -> floats; src/ops/attention.ts mirrors it.
Value DecodeWorkspaceFloats(const CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(), static_cast<double>(decodeWorkspaceFloats(
                      static_cast<int>(intArg(info, 0)), static_cast<int>(intArg(info, 1)), static_cast<int>(intArg(info, 2)),
                      static_cast<int>(intArg(info, 3)), static_cast<int>(intArg(info, 4)))));
}

// (dtype, out, input, numTokens, d, stream)
Value SiluAndMul(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchSiluAndMul(dtypeArg(info, 0), ptrArg(info, 1), ptrArg(info, 2), intArg(info, 3),
                                        intArg(info, 4), streamArg(info, 5)));
  return info.Env().Undefined();
}

// (dtype, out, logits, numRows, vocabSize, stream)
Value Argmax(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchArgmax(dtypeArg(info, 0), p<int32_t>(info, 1), ptrArg(info, 2), intArg(info, 3),
                                    intArg(info, 4), streamArg(info, 5)));
  return info.Env().Undefined();
}

// (out, logits, numRows, vocabSize, temperature, topK, topP, minP, uniform, stream)
Value Sample(const CallbackInfo& info) {
  SampleArgs a{p<int32_t>(info, 0), p<float>(info, 1), intArg(info, 2), intArg(info, 3), p<float>(info, 4),
               p<int32_t>(info, 5), p<float>(info, 6), p<float>(info, 7), p<float>(info, 8)};
  CUDA_TRY(info.Env(), launchSample(a, streamArg(info, 9)));
  return info.Env().Undefined();
}

// (logits, counts, numRows, vocabSize, promptTokens, promptWidth, outputTokens, outputWidth,
//  repetition, frequency, presence, stream)
Value ApplyPenalties(const CallbackInfo& info) {
  PenaltyArgs a{p<float>(info, 0), p<int32_t>(info, 1), intArg(info, 2),   intArg(info, 3),
                p<int32_t>(info, 4), intArg(info, 5),   p<int32_t>(info, 6), intArg(info, 7),
                p<float>(info, 8),   p<float>(info, 9), p<float>(info, 10)};
  CUDA_TRY(info.Env(), launchApplyPenalties(a, streamArg(info, 11)));
  return info.Env().Undefined();
}

// (): { supported, active } of programmatic dependent launch.
Value ProgrammaticLaunch(const CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("supported", Napi::Boolean::New(info.Env(), programmaticLaunchSupported()));
  o.Set("active", Napi::Boolean::New(info.Env(), programmaticLaunchActive()));
  return o;
}

// (requested): whether programmatic dependent launch is active afterwards.
Value SetProgrammaticLaunch(const CallbackInfo& info) {
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "argument 0 must be a boolean");
  return Napi::Boolean::New(info.Env(), setProgrammaticLaunch(info[0].As<Napi::Boolean>().Value()));
}

}  // namespace

void registerKernels(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> fns[] = {
      {"embedding", Embedding},       {"rmsNorm", RmsNorm},
      {"fusedAddRmsNorm", FusedAddRmsNorm}, {"ropeNeox", RopeNeox},
      {"writeKvCache", WriteKvCache}, {"ropeNeoxWriteKv", RopeNeoxWriteKv},
      {"pagedAttention", PagedAttention},
      {"decodeWorkspaceFloats", DecodeWorkspaceFloats}, {"siluAndMul", SiluAndMul},
      {"argmax", Argmax},             {"sample", Sample},
      {"applyPenalties", ApplyPenalties},
      {"programmaticLaunch", ProgrammaticLaunch}, {"setProgrammaticLaunch", SetProgrammaticLaunch},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace vllm_cuda
