// Entry point of vllm_cuda.node: registers the binding groups and nothing else.
#include "cuda-check.h"

namespace vllm_cuda {

void throwStatusError(Napi::Env env, const char* library, const char* call, int status, const std::string& name,
                      const std::string& message, const char* file, int line) {
  std::string where = file;
  const size_t slash = where.find_last_of('/');
  if (slash != std::string::npos) where = where.substr(slash + 1);
  Napi::Error error =
      Napi::Error::New(env, std::string(call) + " failed: " + name + " (" + message + ") at " + where + ":" + std::to_string(line));
  error.Set("library", Napi::String::New(env, library));
  error.Set("call", Napi::String::New(env, call));
  error.Set("status", Napi::Number::New(env, status));
  error.Set("statusName", Napi::String::New(env, name));
  error.Set("location", Napi::String::New(env, where + ":" + std::to_string(line)));
  throw error;
}

void* ptrArg(const Napi::CallbackInfo& info, size_t index) {
  const Napi::Value v = info[index];
  if (v.IsBigInt()) {
    bool lossless = true;
    return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::BigInt>().Uint64Value(&lossless)));
  }
  if (v.IsNumber() && v.As<Napi::Number>().Int64Value() == 0) return nullptr;
  throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a device address (bigint)");
}

int64_t intArg(const Napi::CallbackInfo& info, size_t index) {
  const Napi::Value v = info[index];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a number");
  return v.As<Napi::Number>().Int64Value();
}

double numberArg(const Napi::CallbackInfo& info, size_t index) {
  const Napi::Value v = info[index];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

Napi::BigInt ptrValue(Napi::Env env, const void* ptr) {
  return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ptr)));
}

}  // namespace vllm_cuda

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vllm_cuda::registerRuntime(env, exports);
  vllm_cuda::registerKernels(env, exports);
  vllm_cuda::registerGemm(env, exports);
  vllm_cuda::registerTokens(env, exports);
  return exports;
}

NODE_API_MODULE(vllm_cuda, Init)
