import { getBinding } from './binding.js';

/** Properties of one GPU, as the CUDA runtime reports them. */
export interface DeviceInfo {
  readonly name: string;
  /** Compute capability, e.g. 9.0 for Hopper. */
  readonly major: number;
  readonly minor: number;
  readonly multiProcessorCount: number;
  readonly totalGlobalMem: number;
  readonly l2CacheSize: number;
  /** Shared memory a block may opt into, in bytes. */
  readonly sharedMemPerBlockOptin: number;
}

/**
 * Describes a GPU.
 * @param device device ordinal
 * @returns its properties
 * @throws {CudaUnavailableError} when CUDA is unavailable
 */
export function getDeviceInfo(device = 0): DeviceInfo {
  return getBinding().deviceProperties(device);
}

/**
 * Free and total device memory of the current device, in bytes.
 * @returns `{ free, total }`
 * @throws {CudaUnavailableError} when CUDA is unavailable
 */
export function deviceMemoryInfo(): { free: number; total: number } {
  return getBinding().memGetInfo();
}

/**
 * Blocks until all work on the device has finished, then reports any pending launch error.
 * @throws {CudaError} when a kernel failed
 */
export function synchronizeDevice(): void {
  const b = getBinding();
  b.deviceSynchronize();
  b.getLastError();
}

/**
 * Page-locked host memory, for asynchronous copies (its pages stay resident). Freed by the GC.
 * @param bytes size
 * @returns an ArrayBuffer over pinned memory
 */
export function allocPinned(bytes: number): ArrayBuffer {
  return getBinding().hostAlloc(bytes);
}

/** Whether kernels are launched with programmatic dependent launch (see {@link setProgrammaticDependentLaunch}). */
export interface ProgrammaticLaunchState {
  /** The device (compute capability 9.0+) and the loaded kernels' machine code (sm_90+) support it. */
  readonly supported: boolean;
  /** Requested (the default unless `VLLM_TS_PDL=0`) and supported. */
  readonly active: boolean;
}

/**
 * Reports whether the decode-path kernels (norms, RoPE + KV write, decode attention, SiLU-and-multiply,
 * embedding, `gemv`) are launched with programmatic dependent launch: on Hopper each may start while the
 * kernel before it finishes, waiting in the kernel for its inputs; `gemv` streams its weights into L2
 * meanwhile.
 * @returns the state
 * @throws {CudaUnavailableError} when CUDA is unavailable
 */
export function programmaticDependentLaunch(): ProgrammaticLaunchState {
  return getBinding().programmaticLaunch();
}

/**
 * Turns programmatic dependent launch on or off for later launches and graph captures (graphs captured
 * before keep how they were captured). Results are identical either way; only the overlap between
 * kernels changes. The process starts with it requested unless the environment sets `VLLM_TS_PDL=0`.
 * @param enabled request it (it is active only where {@link ProgrammaticLaunchState.supported})
 * @returns whether it is active now
 * @throws {CudaUnavailableError} when CUDA is unavailable
 * @example
 * ```ts
 * setProgrammaticDependentLaunch(false); // A/B: capture a graph without it
 * ```
 */
export function setProgrammaticDependentLaunch(enabled: boolean): boolean {
  return getBinding().setProgrammaticLaunch(enabled);
}
