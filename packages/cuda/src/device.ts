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
