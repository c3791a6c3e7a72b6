// Token-id glue for async scheduling (kernels/token-gather.cu). src/ops/token-gather.ts validates
// shapes and index ranges before calling.
#include "cuda-check.h"

namespace vllm_cuda {

cudaError_t launchTokenGather(int32_t* dst, const int32_t* src, const int32_t* idx, int64_t n, cudaStream_t stream);

namespace {

// (dst, src, idx, n, stream)
Napi::Value TokenGather(const Napi::CallbackInfo& info) {
  CUDA_TRY(info.Env(), launchTokenGather(static_cast<int32_t*>(ptrArg(info, 0)), static_cast<const int32_t*>(ptrArg(info, 1)),
                                         static_cast<const int32_t*>(ptrArg(info, 2)), intArg(info, 3), streamArg(info, 4)));
  return info.Env().Undefined();
}

}  // namespace

void registerTokens(Napi::Env env, Napi::Object exports) {
  exports.Set("tokenGather", Napi::Function::New(env, TokenGather, "tokenGather"));
}

}  // namespace vllm_cuda
