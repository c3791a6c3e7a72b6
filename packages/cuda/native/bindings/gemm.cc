// GEMM through cuBLASLt, loaded with dlopen at first use: this addon builds without cuBLAS headers
// or libraries, so the few entry points used are declared here from the public cublasLt.h ABI.
// out[m, n] = alpha * a[m, k] . w[n, k]^T + beta * out  (row-major; w in the PyTorch Linear layout),
// fp32 accumulation, fp32 scale. Each shape's algorithm is picked once, by timing cuBLASLt's top
// heuristic candidates on the first call (see planFor); for decode shapes (m <= 8, 16-bit inputs) the
// skinny GEMM kernel of kernels/gemv.cu is one more candidate, kept only where it measured faster.
#include <dlfcn.h>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>
#include "cuda-check.h"
#include "kernels/kernels.h"

namespace vllm_cuda {
namespace {

using Handle = void*;
using MatmulDesc = void*;
using Layout = void*;
using Preference = void*;
struct Algo {
  uint64_t data[8];
};
struct HeuristicResult {
  Algo algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};

constexpr int kComputeF32 = 68;           // CUBLAS_COMPUTE_32F
constexpr int kDescTransA = 3;            // CUBLASLT_MATMUL_DESC_TRANSA
constexpr int kDescTransB = 4;            // CUBLASLT_MATMUL_DESC_TRANSB
constexpr int kPrefMaxWorkspace = 1;      // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
constexpr int kOpN = 0, kOpT = 1;         // cublasOperation_t
constexpr size_t kWorkspaceBytes = 32u << 20;

struct Api {
  int (*create)(Handle*);
  int (*matmulDescCreate)(MatmulDesc*, int, int);
  int (*matmulDescSetAttribute)(MatmulDesc, int, const void*, size_t);
  int (*matmulDescDestroy)(MatmulDesc);
  int (*layoutCreate)(Layout*, int, uint64_t, uint64_t, int64_t);
  int (*layoutDestroy)(Layout);
  int (*preferenceCreate)(Preference*);
  int (*preferenceSetAttribute)(Preference, int, const void*, size_t);
  int (*preferenceDestroy)(Preference);
  int (*algoGetHeuristic)(Handle, MatmulDesc, Layout, Layout, Layout, Layout, Preference, int, HeuristicResult*, int*);
  int (*matmul)(Handle, MatmulDesc, const void*, const void*, Layout, const void*, Layout, const void*, const void*,
                Layout, void*, Layout, const Algo*, void*, size_t, cudaStream_t);
  const char* (*statusString)(int);
};

struct Plan {
  MatmulDesc desc;
  Layout a, b, c;
  Algo algo;
  size_t workspaceSize;
  bool gemv;  // launchGemv instead of cuBLASLt
};

struct State {
  std::once_flag once;
  std::string loadError;
  std::string loadedFrom;
  void* lib = nullptr;
  Api api{};
  Handle handle = nullptr;
  void* workspace = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int>, Plan> plans;
};

State& state() {
  static State s;
  return s;
}

template <typename F> bool bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

void load(State& s) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("VLLM_TS_CUBLASLT")) candidates.push_back(env);
  for (const char* name : {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"}) candidates.push_back(name);
  std::vector<std::string> homes;
  if (const char* h = std::getenv("CUDA_HOME")) homes.push_back(h);
  homes.push_back("/usr/local/cuda");
  for (const auto& home : homes)
    for (const char* sub : {"/lib64/libcublasLt.so.13", "/lib64/libcublasLt.so", "/targets/x86_64-linux/lib/libcublasLt.so"})
      candidates.push_back(home + sub);
  std::string tried;
  for (const auto& c : candidates) {
    s.lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (s.lib) {
      s.loadedFrom = c;
      break;
    }
    const char* err = dlerror();
    tried += "\n  " + c + ": " + (err ? err : "not found");
  }
  if (!s.lib) {
    s.loadError = "libcublasLt could not be loaded (set VLLM_TS_CUBLASLT to its path); tried:" + tried;
    return;
  }
  Api& a = s.api;
  const bool ok = bind(s.lib, "cublasLtCreate", a.create) && bind(s.lib, "cublasLtMatmulDescCreate", a.matmulDescCreate) &&
                  bind(s.lib, "cublasLtMatmulDescSetAttribute", a.matmulDescSetAttribute) &&
                  bind(s.lib, "cublasLtMatmulDescDestroy", a.matmulDescDestroy) &&
                  bind(s.lib, "cublasLtMatrixLayoutCreate", a.layoutCreate) &&
                  bind(s.lib, "cublasLtMatrixLayoutDestroy", a.layoutDestroy) &&
                  bind(s.lib, "cublasLtMatmulPreferenceCreate", a.preferenceCreate) &&
                  bind(s.lib, "cublasLtMatmulPreferenceSetAttribute", a.preferenceSetAttribute) &&
                  bind(s.lib, "cublasLtMatmulPreferenceDestroy", a.preferenceDestroy) &&
                  bind(s.lib, "cublasLtMatmulAlgoGetHeuristic", a.algoGetHeuristic) &&
                  bind(s.lib, "cublasLtMatmul", a.matmul);
  bind(s.lib, "cublasLtGetStatusString", a.statusString);
  if (!ok) s.loadError = "libcublasLt at " + s.loadedFrom + " lacks an expected entry point: " + dlerror();
}

State& ready(Napi::Env env) {
  State& s = state();
  std::call_once(s.once, [&] { load(s); });
  if (!s.loadError.empty()) {
    Napi::Error e = Napi::Error::New(env, s.loadError);
    e.Set("library", Napi::String::New(env, "cublasLt"));
    e.Set("statusName", Napi::String::New(env, "CUBLASLT_UNAVAILABLE"));
    throw e;
  }
  if (!s.handle) {
    CUDA_TRY(env, CublasStatus{s.api.create(&s.handle)});
    CUDA_TRY(env, cudaMalloc(&s.workspace, kWorkspaceBytes));
  }
  return s;
}

constexpr int kCandidates = 8;

// Bytes written between timed calls of a decode shape: over twice the 60 MB L2 of an H200.
constexpr size_t kFlushBytes = 128u << 20;
// With programmatic launch, gemv is kept unless cuBLASLt times more than this much faster alone (the
// down projection of Llama-3.1-8B at batch 1: cuBLASLt 0.0305 ms, gemv 0.0332 ms, 2026-11-30).
constexpr float kGemvProgrammaticMargin = 1.12f;

// Median-free quick timing: 2 warm-up calls, then 5 timed; < 0 when a call fails. With `flush` (decode
// shapes, whose weights a model streams from device memory layer after layer), each timed call follows
// a write of kFlushBytes there, so it reads its weight from device memory rather than a hot L2.
template <typename Call>
float timeCalls(void* flush, cudaStream_t stream, Call call) {
  for (int i = 0; i < 2; ++i)
    if (!call()) return -1.f;
  cudaEvent_t start, end;
  if (cudaEventCreate(&start) != cudaSuccess) return -1.f;
  if (cudaEventCreate(&end) != cudaSuccess) {
    cudaEventDestroy(start);
    return -1.f;
  }
  float total = 0.f;
  bool ok = true;
  if (flush) {
    for (int i = 0; i < 5 && ok; ++i) {
      ok = cudaMemsetAsync(flush, i, kFlushBytes, stream) == cudaSuccess;
      cudaEventRecord(start, stream);
      ok = ok && call();
      cudaEventRecord(end, stream);
      float ms = 0.f;
      ok = ok && cudaEventSynchronize(end) == cudaSuccess && cudaEventElapsedTime(&ms, start, end) == cudaSuccess;
      total += ms;
    }
  } else {
    cudaEventRecord(start, stream);
    for (int i = 0; i < 5 && ok; ++i) ok = call();
    cudaEventRecord(end, stream);
    ok = ok && cudaEventSynchronize(end) == cudaSuccess && cudaEventElapsedTime(&total, start, end) == cudaSuccess;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(end);
  cudaGetLastError();
  return ok ? total : -1.f;
}

float timeAlgo(State& s, const Plan& plan, const Algo& algo, size_t workspaceSize, const void* a, const void* w, void* out,
               void* flush, cudaStream_t stream) {
  const float alpha = 1.f, beta = 0.f;
  return timeCalls(flush, stream, [&] {
    return s.api.matmul(s.handle, plan.desc, &alpha, w, plan.a, a, plan.b, &beta, out, plan.c, out, plan.c, &algo,
                        s.workspace, workspaceSize, stream) == 0;
  });
}

float timeGemv(GemvArgs g, void* flush, cudaStream_t stream) {
  g.alpha = 1.f, g.beta = 0.f;
  return timeCalls(flush, stream, [&] { return launchGemv(g, stream) == cudaSuccess; });
}

// The plan for a shape: cuBLASLt's heuristic candidates, timed on first use when that is safe (the
// output is overwritten anyway, beta == 0, and the stream is not being captured into a graph);
// otherwise the heuristic's first choice.
const Plan& planFor(Napi::Env env, State& s, const GemvArgs& g, int inType, int outType, bool mayTime,
                    cudaStream_t stream) {
  const int64_t m = g.m, n = g.n, k = g.k, lda = g.lda, ldw = g.ldw, ldc = g.ldc;
  const void* a = g.a;
  const void* w = g.w;
  void* out = g.out;
  const auto key = std::make_tuple(m, n, k, lda, ldw, ldc, inType, outType);
  auto it = s.plans.find(key);
  if (it != s.plans.end()) return it->second;
  const Api& api = s.api;
  Plan plan{};
  CUDA_TRY(env, CublasStatus{api.matmulDescCreate(&plan.desc, kComputeF32, 0 /* CUDA_R_32F scale */)});
  const int opT = kOpT, opN = kOpN;
  CUDA_TRY(env, CublasStatus{api.matmulDescSetAttribute(plan.desc, kDescTransA, &opT, sizeof(opT))});
  CUDA_TRY(env, CublasStatus{api.matmulDescSetAttribute(plan.desc, kDescTransB, &opN, sizeof(opN))});
  // Column-major view: out^T[n, m] = (w as k x n)^T . (a as k x m).
  CUDA_TRY(env, CublasStatus{api.layoutCreate(&plan.a, inType, k, n, ldw)});
  CUDA_TRY(env, CublasStatus{api.layoutCreate(&plan.b, inType, k, m, lda)});
  CUDA_TRY(env, CublasStatus{api.layoutCreate(&plan.c, outType, n, m, ldc)});
  Preference pref = nullptr;
  CUDA_TRY(env, CublasStatus{api.preferenceCreate(&pref)});
  const uint64_t ws = kWorkspaceBytes;
  CUDA_TRY(env, CublasStatus{api.preferenceSetAttribute(pref, kPrefMaxWorkspace, &ws, sizeof(ws))});
  HeuristicResult results[kCandidates] = {};
  int found = 0;
  const int status =
      api.algoGetHeuristic(s.handle, plan.desc, plan.a, plan.b, plan.c, plan.c, pref, kCandidates, results, &found);
  api.preferenceDestroy(pref);
  CUDA_TRY(env, CublasStatus{status});
  if (found == 0) CUDA_TRY(env, CublasStatus{15 /* CUBLAS_STATUS_NOT_SUPPORTED */});
  int best = 0;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  cudaStreamIsCapturing(stream, &capture);
  plan.gemv = false;
  if (mayTime && capture == cudaStreamCaptureStatusNone) {
    // Decode shapes are timed with a cold L2 (see timeCalls); without the scratch, hot.
    void* flush = nullptr;
    if (m <= kGemvMaxRows && cudaMalloc(&flush, kFlushBytes) != cudaSuccess) {
      flush = nullptr;
      cudaGetLastError();
    }
    float bestMs = -1.f;
    for (int i = 0; i < found && found > 1; ++i) {
      if (results[i].state != 0) continue;
      const float ms = timeAlgo(s, plan, results[i].algo, results[i].workspaceSize, a, w, out, flush, stream);
      if (ms >= 0.f && (bestMs < 0.f || ms < bestMs)) bestMs = ms, best = i;
    }
    if (found == 1) bestMs = timeAlgo(s, plan, results[0].algo, results[0].workspaceSize, a, w, out, flush, stream);
    if (canUseGemv(g)) {
      // Timed alone; in a sequence of programmatic launches the gemv also streams its weights while the
      // kernel before it finishes, which cuBLASLt's kernels cannot, so it keeps a margin there.
      const float margin = programmaticLaunchActive() ? kGemvProgrammaticMargin : 1.f;
      const float ms = timeGemv(g, flush, stream);
      if (ms >= 0.f && (bestMs < 0.f || ms < bestMs * margin)) plan.gemv = true;
    }
    if (flush) cudaFree(flush);
  }
  plan.algo = results[best].algo;
  plan.workspaceSize = results[best].workspaceSize;
  return s.plans.emplace(key, plan).first->second;
}

int cudaDataType(Napi::Env env, int64_t dtype) {
  switch (dtype) {
    case 0: return 0;   // F32 -> CUDA_R_32F
    case 1: return 2;   // F16 -> CUDA_R_16F
    case 2: return 14;  // BF16 -> CUDA_R_16BF
    default: throw Napi::TypeError::New(env, "gemm supports float32, float16 and bfloat16");
  }
}

// (out, a, w, m, n, k, lda, ldw, ldc, inDtype, outDtype, alpha, beta, stream)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = ready(env);
  const int64_t m = intArg(info, 3), n = intArg(info, 4), k = intArg(info, 5);
  if (m == 0 || n == 0) return env.Undefined();
  const float alpha = static_cast<float>(numberArg(info, 11)), beta = static_cast<float>(numberArg(info, 12));
  void* out = ptrArg(info, 0);
  GemvArgs g{static_cast<DType>(intArg(info, 9)), static_cast<DType>(intArg(info, 10)), out, ptrArg(info, 1),
             ptrArg(info, 2), m, n, k, intArg(info, 6), intArg(info, 7), intArg(info, 8), alpha, beta};
  const Plan& plan = planFor(env, s, g, cudaDataType(env, intArg(info, 9)), cudaDataType(env, intArg(info, 10)),
                             beta == 0.f, streamArg(info, 13));
  // The plan's key holds no addresses: a later call of the same shape may be misaligned for the kernel.
  if (plan.gemv && canUseGemv(g)) {
    CUDA_TRY(env, launchGemv(g, streamArg(info, 13)));
    return env.Undefined();
  }
  CUDA_TRY(env, CublasStatus{s.api.matmul(s.handle, plan.desc, &alpha, ptrArg(info, 2), plan.a, ptrArg(info, 1), plan.b,
                                          &beta, out, plan.c, out, plan.c, &plan.algo, s.workspace, plan.workspaceSize,
                                          streamArg(info, 13))});
  return env.Undefined();
}

// (out, a, w, m, n, k, lda, ldw, ldc, inDtype, outDtype, alpha, beta, stream, siluAndMul?): the skinny GEMM kernel
// alone, without cuBLASLt (tests, benchmarks, the fused gate/up projection of decode steps); src/ops/gemm.ts
// validates that it applies.
Napi::Value Gemv(const Napi::CallbackInfo& info) {
  GemvArgs g{static_cast<DType>(intArg(info, 9)), static_cast<DType>(intArg(info, 10)), ptrArg(info, 0),
             ptrArg(info, 1), ptrArg(info, 2), intArg(info, 3), intArg(info, 4), intArg(info, 5), intArg(info, 6),
             intArg(info, 7), intArg(info, 8), static_cast<float>(numberArg(info, 11)),
             static_cast<float>(numberArg(info, 12))};
  g.siluAndMul = info.Length() > 14 && info[14].ToBoolean().Value();
  CUDA_TRY(info.Env(), launchGemv(g, streamArg(info, 13)));
  return info.Env().Undefined();
}

// (out, a, w, m, n, k, lda, ldw, ldc, dtype, stream, positions, cosSin, keyCache, valueCache, slotMapping,
//  numHeads, numKvHeads, headDim): the qkv projection fused with RoPE and the KV-cache write; src/ops/gemm-rope.ts
// validates that it applies.
Napi::Value GemvRopeKv(const Napi::CallbackInfo& info) {
  const DType dtype = static_cast<DType>(intArg(info, 9));
  GemvRopeKvArgs p{};
  p.gemv = GemvArgs{dtype, dtype, ptrArg(info, 0), ptrArg(info, 1), ptrArg(info, 2), intArg(info, 3), intArg(info, 4),
                    intArg(info, 5), intArg(info, 6), intArg(info, 7), intArg(info, 8), 1.f, 0.f};
  p.positions = static_cast<const int32_t*>(ptrArg(info, 11));
  p.cosSin = static_cast<const float*>(ptrArg(info, 12));
  p.keyCache = ptrArg(info, 13);
  p.valueCache = ptrArg(info, 14);
  p.slotMapping = static_cast<const int32_t*>(ptrArg(info, 15));
  p.numHeads = static_cast<int>(intArg(info, 16));
  p.numKvHeads = static_cast<int>(intArg(info, 17));
  p.headDim = static_cast<int>(intArg(info, 18));
  CUDA_TRY(info.Env(), launchGemvRopeKv(p, streamArg(info, 10)));
  return info.Env().Undefined();
}

// Loads the library and creates the handle; returns where it was loaded from.
Napi::Value GemmInit(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), ready(info.Env()).loadedFrom);
}

}  // namespace

std::string cublasStatusMessage(int status) {
  State& s = state();
  if (s.api.statusString) return s.api.statusString(status);
  return "cuBLAS status " + std::to_string(status);
}

void registerGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("gemv", Napi::Function::New(env, Gemv, "gemv"));
  exports.Set("gemvRopeKv", Napi::Function::New(env, GemvRopeKv, "gemvRopeKv"));
  exports.Set("gemmInit", Napi::Function::New(env, GemmInit, "gemmInit"));
}

}  // namespace vllm_cuda
