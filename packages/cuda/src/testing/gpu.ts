// Shared by the GPU test files: whether to run, and the reason shown when skipped.
import { cudaUnavailableReason, isCudaAvailable } from '../binding.js';

/** True when the CUDA tests can run here. */
export const cudaAvailable = isCudaAvailable();

/** A describe() title that carries the skip reason on machines without CUDA. */
export function gpuSuite(name: string): string {
  return cudaAvailable ? `${name} (GPU)` : `${name} (GPU; skipped: ${cudaUnavailableReason()})`;
}

import { DeviceTensor } from '../device-tensor.js';
import type { DType, FloatDType } from '../dtype.js';
import type { HostData } from '../device-tensor.js';

/** Tracks the tensors a test allocates and frees them together. */
export class TensorScope {
  readonly #tensors: DeviceTensor[] = [];

  /** A tensor holding `data`. */
  from(data: HostData, shape: readonly number[], dtype: DType): DeviceTensor {
    const t = DeviceTensor.fromHost(data, shape, dtype);
    this.#tensors.push(t);
    return t;
  }

  /** A poisoned (all bits set: NaN / -1) tensor, so unwritten elements show. */
  poisoned(shape: readonly number[], dtype: DType): DeviceTensor {
    const t = DeviceTensor.empty(shape, dtype);
    this.#tensors.push(t);
    t.poison();
    return t;
  }

  /** Frees every tracked tensor. */
  free(): void {
    for (const t of this.#tensors.splice(0)) t.free();
  }
}

/** The float dtypes every elementwise kernel is tested in. */
export const FLOAT_DTYPES: readonly FloatDType[] = ['float32', 'float16', 'bfloat16'];
