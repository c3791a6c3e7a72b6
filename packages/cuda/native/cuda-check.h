// One macro, CUDA_TRY, turns a failed CUDA runtime or cuBLASLt status into a thrown JS Error
// carrying the call text, the library's message and file:line. The binding builds with
// NAPI_CPP_EXCEPTIONS, so a throw unwinds to node-addon-api, which rethrows it in JavaScript.
#pragma once
#include <cuda_runtime.h>
#include <napi.h>
#include <cstdint>
#include <string>

namespace vllm_cuda {

// cuBLAS status codes, kept distinct from cudaError_t so CUDA_TRY picks the right message.
struct CublasStatus {
  int value;
};

[[noreturn]] void throwStatusError(Napi::Env env, const char* library, const char* call, int status,
                                   const std::string& name, const std::string& message, const char* file, int line);

inline void checkStatus(Napi::Env env, cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  throwStatusError(env, "cuda", call, static_cast<int>(status), cudaGetErrorName(status), cudaGetErrorString(status),
                   file, line);
}

std::string cublasStatusMessage(int status);

inline void checkStatus(Napi::Env env, CublasStatus status, const char* call, const char* file, int line) {
  if (status.value == 0) return;
  throwStatusError(env, "cublasLt", call, status.value, "CUBLAS_STATUS_" + std::to_string(status.value),
                   cublasStatusMessage(status.value), file, line);
}

// Arguments crossing from JavaScript. The TypeScript wrappers validate first; these only type-check.
void* ptrArg(const Napi::CallbackInfo& info, size_t index);
int64_t intArg(const Napi::CallbackInfo& info, size_t index);
double numberArg(const Napi::CallbackInfo& info, size_t index);
inline cudaStream_t streamArg(const Napi::CallbackInfo& info, size_t index) {
  return static_cast<cudaStream_t>(ptrArg(info, index));
}
Napi::BigInt ptrValue(Napi::Env env, const void* ptr);

void registerRuntime(Napi::Env env, Napi::Object exports);
void registerKernels(Napi::Env env, Napi::Object exports);
void registerGemm(Napi::Env env, Napi::Object exports);
void registerTokens(Napi::Env env, Napi::Object exports);

}  // namespace vllm_cuda

#define CUDA_TRY(env, call) ::vllm_cuda::checkStatus((env), (call), #call, __FILE__, __LINE__)
