// Runtime glue: device queries, device and pinned memory, copies, streams, events, CUDA graphs.
#include <cuda_runtime.h>
#include "cuda-check.h"

namespace vllm_cuda {
namespace {

using Napi::CallbackInfo;
using Napi::Value;

// Never throws: availability must be answerable on machines without a GPU or driver.
Value Probe(const CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  int runtimeVersion = 0, driverVersion = 0, count = 0;
  cudaRuntimeGetVersion(&runtimeVersion);
  cudaDriverGetVersion(&driverVersion);
  const cudaError_t status = cudaGetDeviceCount(&count);
  result.Set("runtimeVersion", runtimeVersion);
  result.Set("driverVersion", driverVersion);
  result.Set("deviceCount", status == cudaSuccess ? count : 0);
  if (status != cudaSuccess) {
    result.Set("error", std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status));
    cudaGetLastError();
  }
  return result;
}

Value DeviceProperties(const CallbackInfo& info) {
  Napi::Env env = info.Env();
  cudaDeviceProp p{};
  CUDA_TRY(env, cudaGetDeviceProperties(&p, static_cast<int>(intArg(info, 0))));
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", p.name);
  o.Set("major", p.major);
  o.Set("minor", p.minor);
  o.Set("multiProcessorCount", p.multiProcessorCount);
  o.Set("totalGlobalMem", static_cast<double>(p.totalGlobalMem));
  o.Set("l2CacheSize", p.l2CacheSize);
  o.Set("sharedMemPerBlockOptin", static_cast<double>(p.sharedMemPerBlockOptin));
  return o;
}

Value SetDevice(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaSetDevice(static_cast<int>(intArg(info, 0))));
  return info.Env().Undefined();
}

Value MemGetInfo(const CallbackInfo& info) {
  size_t freeBytes = 0, totalBytes = 0;
  CUDA_TRY(info.Env(), cudaMemGetInfo(&freeBytes, &totalBytes));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("free", static_cast<double>(freeBytes));
  o.Set("total", static_cast<double>(totalBytes));
  return o;
}

Value Malloc(const CallbackInfo& info) {
  void* ptr = nullptr;
  CUDA_TRY(info.Env(), cudaMalloc(&ptr, static_cast<size_t>(intArg(info, 0))));
  return ptrValue(info.Env(), ptr);
}

Value Free(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaFree(ptrArg(info, 0)));
  return info.Env().Undefined();
}

// Page-locked host memory as an ArrayBuffer; freed by the garbage collector.
Value HostAlloc(const CallbackInfo& info) {
  void* ptr = nullptr;
  const size_t bytes = static_cast<size_t>(intArg(info, 0));
  CUDA_TRY(info.Env(), cudaHostAlloc(&ptr, bytes == 0 ? 1 : bytes, cudaHostAllocDefault));
  return Napi::ArrayBuffer::New(info.Env(), ptr, bytes, [](Napi::Env, void* data) { cudaFreeHost(data); });
}

struct HostView {
  void* data;
  size_t bytes;
};

HostView hostView(const CallbackInfo& info, size_t index) {
  const Value v = info[index];
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    return {static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer b = v.As<Napi::ArrayBuffer>();
    return {b.Data(), b.ByteLength()};
  }
  throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a TypedArray or ArrayBuffer");
}

// (dst, hostSrc, bytes, stream, wait): waits for the copy unless wait is false (pinned sources only).
Value CopyHostToDevice(const CallbackInfo& info) {
  Napi::Env env = info.Env();
  const HostView src = hostView(info, 1);
  const size_t bytes = static_cast<size_t>(intArg(info, 2));
  if (bytes > src.bytes) throw Napi::RangeError::New(env, "host source is smaller than the copy");
  cudaStream_t stream = streamArg(info, 3);
  CUDA_TRY(env, cudaMemcpyAsync(ptrArg(info, 0), src.data, bytes, cudaMemcpyHostToDevice, stream));
  if (info[4].ToBoolean()) CUDA_TRY(env, cudaStreamSynchronize(stream));
  return env.Undefined();
}

// (hostDst, src, bytes, stream, wait)
Value CopyDeviceToHost(const CallbackInfo& info) {
  Napi::Env env = info.Env();
  const HostView dst = hostView(info, 0);
  const size_t bytes = static_cast<size_t>(intArg(info, 2));
  if (bytes > dst.bytes) throw Napi::RangeError::New(env, "host destination is smaller than the copy");
  cudaStream_t stream = streamArg(info, 3);
  CUDA_TRY(env, cudaMemcpyAsync(dst.data, ptrArg(info, 1), bytes, cudaMemcpyDeviceToHost, stream));
  if (info[4].ToBoolean()) CUDA_TRY(env, cudaStreamSynchronize(stream));
  return env.Undefined();
}

Value CopyDeviceToDevice(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaMemcpyAsync(ptrArg(info, 0), ptrArg(info, 1), static_cast<size_t>(intArg(info, 2)),
                                       cudaMemcpyDeviceToDevice, streamArg(info, 3)));
  return info.Env().Undefined();
}

Value Memset(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaMemsetAsync(ptrArg(info, 0), static_cast<int>(intArg(info, 1)),
                                       static_cast<size_t>(intArg(info, 2)), streamArg(info, 3)));
  return info.Env().Undefined();
}

Value DeviceSynchronize(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaDeviceSynchronize());
  return info.Env().Undefined();
}

Value GetLastError(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaGetLastError());
  return info.Env().Undefined();
}

Value StreamCreate(const CallbackInfo& info) {
  cudaStream_t s = nullptr;
  CUDA_TRY(info.Env(), cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return ptrValue(info.Env(), s);
}

Value StreamDestroy(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaStreamDestroy(streamArg(info, 0)));
  return info.Env().Undefined();
}

Value StreamSynchronize(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaStreamSynchronize(streamArg(info, 0)));
  return info.Env().Undefined();
}

// Waits for a stream on the libuv thread pool and settles a promise, keeping the event loop free.
class StreamSyncWorker : public Napi::AsyncWorker {
 public:
  StreamSyncWorker(Napi::Env env, cudaStream_t stream)
      : Napi::AsyncWorker(env), stream_(stream), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { status_ = cudaStreamSynchronize(stream_); }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      CUDA_TRY(env, status_);
      deferred_.Resolve(env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  cudaStream_t stream_;
  cudaError_t status_ = cudaSuccess;
  Napi::Promise::Deferred deferred_;
};

Value StreamSynchronizeAsync(const CallbackInfo& info) {
  auto* worker = new StreamSyncWorker(info.Env(), streamArg(info, 0));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Value StreamWaitEvent(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaStreamWaitEvent(streamArg(info, 0), static_cast<cudaEvent_t>(ptrArg(info, 1)), 0));
  return info.Env().Undefined();
}

Value EventCreate(const CallbackInfo& info) {
  cudaEvent_t e = nullptr;
  const bool timing = info[0].ToBoolean();
  CUDA_TRY(info.Env(), cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming));
  return ptrValue(info.Env(), e);
}

Value EventDestroy(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaEventDestroy(static_cast<cudaEvent_t>(ptrArg(info, 0))));
  return info.Env().Undefined();
}

Value EventRecord(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaEventRecord(static_cast<cudaEvent_t>(ptrArg(info, 0)), streamArg(info, 1)));
  return info.Env().Undefined();
}

Value EventSynchronize(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaEventSynchronize(static_cast<cudaEvent_t>(ptrArg(info, 0))));
  return info.Env().Undefined();
}

Value EventElapsedMs(const CallbackInfo& info) {
  float ms = 0.f;
  CUDA_TRY(info.Env(), cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(ptrArg(info, 0)),
                                            static_cast<cudaEvent_t>(ptrArg(info, 1))));
  return Napi::Number::New(info.Env(), ms);
}

Value StreamBeginCapture(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaStreamBeginCapture(streamArg(info, 0), cudaStreamCaptureModeThreadLocal));
  return info.Env().Undefined();
}

// Ends capture and instantiates the graph: returns [graph, graphExec].
Value StreamEndCapture(const CallbackInfo& info) {
  Napi::Env env = info.Env();
  cudaGraph_t graph = nullptr;
  CUDA_TRY(env, cudaStreamEndCapture(streamArg(info, 0), &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  if (status != cudaSuccess) cudaGraphDestroy(graph);
  CUDA_TRY(env, status);
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, ptrValue(env, graph));
  pair.Set(1u, ptrValue(env, exec));
  return pair;
}

Value GraphLaunch(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaGraphLaunch(static_cast<cudaGraphExec_t>(ptrArg(info, 0)), streamArg(info, 1)));
  return info.Env().Undefined();
}

Value GraphDestroy(const CallbackInfo& info) {
  CUDA_TRY(info.Env(), cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(ptrArg(info, 1))));
  CUDA_TRY(info.Env(), cudaGraphDestroy(static_cast<cudaGraph_t>(ptrArg(info, 0))));
  return info.Env().Undefined();
}

}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> fns[] = {
      {"probe", Probe},
      {"deviceProperties", DeviceProperties},
      {"setDevice", SetDevice},
      {"memGetInfo", MemGetInfo},
      {"malloc", Malloc},
      {"free", Free},
      {"hostAlloc", HostAlloc},
      {"copyHostToDevice", CopyHostToDevice},
      {"copyDeviceToHost", CopyDeviceToHost},
      {"copyDeviceToDevice", CopyDeviceToDevice},
      {"memset", Memset},
      {"deviceSynchronize", DeviceSynchronize},
      {"getLastError", GetLastError},
      {"streamCreate", StreamCreate},
      {"streamDestroy", StreamDestroy},
      {"streamSynchronize", StreamSynchronize},
      {"streamSynchronizeAsync", StreamSynchronizeAsync},
      {"streamWaitEvent", StreamWaitEvent},
      {"eventCreate", EventCreate},
      {"eventDestroy", EventDestroy},
      {"eventRecord", EventRecord},
      {"eventSynchronize", EventSynchronize},
      {"eventElapsedMs", EventElapsedMs},
      {"streamBeginCapture", StreamBeginCapture},
      {"streamEndCapture", StreamEndCapture},
      {"graphLaunch", GraphLaunch},
      {"graphDestroy", GraphDestroy},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace vllm_cuda
