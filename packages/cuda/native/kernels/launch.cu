// Process-wide launch settings of the kernels: whether programmatic dependent launch is requested
// and supported, and the device facts the launchers size their work by.
#include <cstdlib>
#include <cstring>
#include "common.cuh"

namespace vllm_cuda {
namespace {

// Its compiled form tells which target's code runs on this device: griddepcontrol exists only in
// code built for sm_90 and newer.
__global__ void pdlProbeKernel() { gridDependencyWait(); }

int gRequested = -1;  // -1: not read from the environment yet
int gSupported = -1;
int64_t gL2Bytes = -1;

bool requested() {
  if (gRequested < 0) {
    const char* env = std::getenv("VLLM_TS_PDL");
    gRequested = env != nullptr && std::strcmp(env, "0") == 0 ? 0 : 1;
  }
  return gRequested == 1;
}

}  // namespace

bool programmaticLaunchSupported() {
  if (gSupported < 0) {
    int device = 0, major = 0;
    cudaFuncAttributes attrs{};
    const bool ok = cudaGetDevice(&device) == cudaSuccess &&
                    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
                    cudaFuncGetAttributes(&attrs, pdlProbeKernel) == cudaSuccess;
    if (!ok) cudaGetLastError();
    gSupported = ok && major >= 9 && attrs.ptxVersion >= 90 && attrs.binaryVersion >= 90 ? 1 : 0;
  }
  return gSupported == 1;
}

bool programmaticLaunchActive() { return requested() && programmaticLaunchSupported(); }

bool setProgrammaticLaunch(bool on) {
  gRequested = on ? 1 : 0;
  return programmaticLaunchActive();
}

int64_t l2CacheBytes() {
  if (gL2Bytes < 0) {
    int device = 0, bytes = 0;
    if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&bytes, cudaDevAttrL2CacheSize, device) != cudaSuccess) {
      cudaGetLastError();
      bytes = 0;
    }
    gL2Bytes = bytes;
  }
  return gL2Bytes;
}

}  // namespace vllm_cuda
