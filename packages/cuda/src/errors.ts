import { VllmError } from '@vllm-ts/core';

/**
 * A CUDA runtime or cuBLASLt call failed. `call` is the failing call as written in the native
 * source, `statusName` the library's status name, `location` the native file:line.
 */
export class CudaError extends VllmError {
  /** `cuda` or `cublasLt`. */
  readonly library: string;
  /** The native call that failed, e.g. `cudaMalloc(&ptr, bytes)`. */
  readonly call: string;
  /** The numeric status the library returned. */
  readonly status: number;
  /** The status name, e.g. `cudaErrorMemoryAllocation`. */
  readonly statusName: string;
  /** Native `file:line` of the check. */
  readonly location: string;

  /**
   * @param message the native message (call, status, location)
   * @param fields the structured parts of the failure
   * @param cause the original native error
   */
  constructor(
    message: string,
    fields: { library: string; call: string; status: number; statusName: string; location: string },
    cause?: unknown,
  ) {
    super('cuda_error', `[cuda] ${message}`, { cause });
    this.library = fields.library;
    this.call = fields.call;
    this.status = fields.status;
    this.statusName = fields.statusName;
    this.location = fields.location;
  }
}

/** The CUDA addon cannot be used here; `reason` says why (not built, no driver, no GPU, ...). */
export class CudaUnavailableError extends VllmError {
  /** Why CUDA is unavailable, with the fix where one is known. */
  readonly reason: string;

  /** @param reason why CUDA is unavailable */
  constructor(reason: string) {
    super('cuda_unavailable', `[cuda] CUDA is unavailable: ${reason}`);
    this.reason = reason;
  }
}

/** A {@link DeviceTensor} was used after `free()`, or a view was freed instead of its owner. */
export class DeviceMemoryError extends VllmError {
  /** @param message what was done with which tensor */
  constructor(message: string) {
    super('device_memory', `[cuda] ${message}`);
  }
}
