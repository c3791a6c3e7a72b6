import { InvalidArgumentError, invariant } from '@vllm-ts/core';
import { getBinding } from './binding.js';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits, dtypeSize } from './dtype.js';
import type { DType } from './dtype.js';
import { DeviceMemoryError } from './errors.js';
import { streamHandle } from './stream.js';
import type { CudaStream } from './stream.js';

interface Allocation {
  address: bigint;
  freed: boolean;
}

// Safety net for tensors dropped without free(): the GC frees their device memory.
const registry = new FinalizationRegistry<Allocation>((alloc) => {
  if (alloc.freed) return;
  alloc.freed = true;
  try {
    getBinding().free(alloc.address);
  } catch {
    // Nothing to report to at collection time.
  }
});

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new InvalidArgumentError('invalid_shape', 'DeviceTensor', 'shape', 'non-negative integers', shape);
    }
  }
}

/** Host data accepted by {@link DeviceTensor.copyFromHost}: values (converted) or raw 16-bit patterns. */
export type HostData = Float32Array | Int32Array | Uint16Array | readonly number[];

/**
 * A dense array in device memory with a dtype and a shape. The tensor returned by
 * {@link DeviceTensor.empty} owns its memory: call {@link DeviceTensor.free} when done (a
 * FinalizationRegistry frees forgotten ones, late). Views ({@link DeviceTensor.view},
 * {@link DeviceTensor.rows}, {@link DeviceTensor.columns}) share the owner's memory and keep it alive.
 *
 * A 2-D tensor may have a `rowStride` larger than its column count (a column view); every other
 * tensor is contiguous.
 */
export class DeviceTensor {
  /** Element type. */
  readonly dtype: DType;
  /** Extent of each dimension. */
  readonly shape: readonly number[];
  /** Elements between the starts of consecutive rows (dimension 0). */
  readonly rowStride: number;
  readonly #alloc: Allocation;
  readonly #offsetBytes: number;
  readonly #owner: DeviceTensor | null;

  private constructor(alloc: Allocation, offsetBytes: number, dtype: DType, shape: readonly number[], rowStride: number, owner: DeviceTensor | null) {
    this.#alloc = alloc;
    this.#offsetBytes = offsetBytes;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.rowStride = rowStride;
    this.#owner = owner;
  }

  /**
   * Allocates an uninitialized tensor.
   * @param shape dimensions
   * @param dtype element type
   * @returns the owning tensor
   * @throws {InvalidArgumentError} for a bad shape
   * @throws {CudaError} when the allocation fails (e.g. out of memory)
   * @example
   * ```ts
   * const x = DeviceTensor.empty([4, 4096], 'bfloat16');
   * x.free();
   * ```
   */
  static empty(shape: readonly number[], dtype: DType): DeviceTensor {
    checkShape(shape);
    const bytes = shape.reduce((a, b) => a * b, 1) * dtypeSize(dtype);
    const address = bytes === 0 ? 0n : getBinding().malloc(bytes);
    const alloc: Allocation = { address, freed: false };
    const tensor = new DeviceTensor(alloc, 0, dtype, shape, rowLength(shape), null);
    if (bytes > 0) registry.register(tensor, alloc, alloc);
    return tensor;
  }

  /**
   * Allocates a tensor and copies `data` into it.
   * @param data values (float32 values are rounded for 16-bit dtypes; a Uint16Array is taken as raw bits)
   * @param shape dimensions; their product must equal `data.length`
   * @param dtype element type
   * @returns the owning tensor
   */
  static fromHost(data: HostData, shape: readonly number[], dtype: DType): DeviceTensor {
    const t = DeviceTensor.empty(shape, dtype);
    try {
      t.copyFromHost(data);
    } catch (error) {
      t.free();
      throw error;
    }
    return t;
  }

  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes spanned by the elements (for a column view: from the first to the last element). */
  get byteLength(): number {
    if (this.numel === 0) return 0;
    return ((this.shape[0]! - 1) * this.rowStride + rowLength(this.shape)) * dtypeSize(this.dtype);
  }

  /** True when the elements are densely packed in row-major order. */
  get isContiguous(): boolean {
    return this.rowStride === rowLength(this.shape);
  }

  /** The device address of the first element. @throws {DeviceMemoryError} after free() */
  get address(): bigint {
    if (this.#alloc.freed) throw new DeviceMemoryError(`DeviceTensor [${this.shape.join(', ')}] ${this.dtype} used after free()`);
    return this.#alloc.address + BigInt(this.#offsetBytes);
  }

  /** True once the owning tensor was freed. */
  get isFreed(): boolean {
    return this.#alloc.freed;
  }

  /**
   * A contiguous view with another shape over the same elements.
   * @param shape new dimensions, same element count
   * @returns a view sharing this tensor's memory
   * @throws {InvalidArgumentError} when counts differ or this tensor is not contiguous
   */
  view(shape: readonly number[]): DeviceTensor {
    checkShape(shape);
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== this.numel) {
      throw new InvalidArgumentError('invalid_shape', 'DeviceTensor.view', 'shape', `${this.numel} elements`, shape);
    }
    if (!this.isContiguous) {
      throw new InvalidArgumentError('invalid_shape', 'DeviceTensor.view', 'this', 'a contiguous tensor', `rowStride ${this.rowStride}`);
    }
    return new DeviceTensor(this.#alloc, this.#offsetBytes, this.dtype, shape, rowLength(shape), this.#owner ?? this);
  }

  /**
   * Rows [start, start + count) of dimension 0.
   * @param start first row
   * @param count number of rows
   * @returns a view sharing this tensor's memory
   * @throws {InvalidArgumentError} for a range outside the tensor
   */
  rows(start: number, count: number): DeviceTensor {
    const n = this.shape[0] ?? 0;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > n) {
      throw new InvalidArgumentError('invalid_range', 'DeviceTensor.rows', 'start, count', `a range within [0, ${n}]`, [start, count]);
    }
    const shape = [count, ...this.shape.slice(1)];
    const offset = this.#offsetBytes + start * this.rowStride * dtypeSize(this.dtype);
    return new DeviceTensor(this.#alloc, offset, this.dtype, shape, this.rowStride, this.#owner ?? this);
  }

  /**
   * Columns [start, start + count) of a 2-D tensor, e.g. the q, k or v part of a fused qkv output.
   * @param start first column
   * @param count number of columns
   * @returns a 2-D view with this tensor's rowStride
   * @throws {InvalidArgumentError} when not 2-D or for a range outside the tensor
   */
  columns(start: number, count: number): DeviceTensor {
    if (this.shape.length !== 2) {
      throw new InvalidArgumentError('invalid_shape', 'DeviceTensor.columns', 'this', 'a 2-D tensor', this.shape);
    }
    const n = this.shape[1]!;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > n) {
      throw new InvalidArgumentError('invalid_range', 'DeviceTensor.columns', 'start, count', `a range within [0, ${n}]`, [start, count]);
    }
    const offset = this.#offsetBytes + start * dtypeSize(this.dtype);
    return new DeviceTensor(this.#alloc, offset, this.dtype, [this.shape[0]!, count], this.rowStride, this.#owner ?? this);
  }

  /**
   * Copies host data into this contiguous tensor and waits for the copy.
   * @param data values or raw 16-bit patterns, `numel` of them
   * @throws {InvalidArgumentError} for a length or type mismatch
   */
  copyFromHost(data: HostData): void {
    this.#requireContiguous('copyFromHost');
    if (data.length !== this.numel) {
      throw new InvalidArgumentError('invalid_shape', 'DeviceTensor.copyFromHost', 'data.length', String(this.numel), data.length);
    }
    const bytes = hostBytes(data, this.dtype);
    if (this.numel > 0) getBinding().copyHostToDevice(this.address, bytes, bytes.byteLength, 0n, true);
  }

  /**
   * Copies this contiguous tensor to the host (after all prior work on the legacy stream and `stream`).
   * @param stream stream to order the copy after (default: the legacy stream)
   * @returns float32 values for float dtypes, int32 for int32
   */
  toHost(stream?: CudaStream): Float32Array | Int32Array {
    this.#requireContiguous('toHost');
    const n = this.numel;
    const b = getBinding();
    if (this.dtype === 'float32' || this.dtype === 'int32') {
      const out = this.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
      if (n > 0) b.copyDeviceToHost(out, this.address, out.byteLength, streamHandle(stream), true);
      return out;
    }
    const bits = new Uint16Array(n);
    if (n > 0) b.copyDeviceToHost(bits, this.address, bits.byteLength, streamHandle(stream), true);
    return this.dtype === 'bfloat16' ? fromBfloat16Bits(bits) : fromFloat16Bits(bits);
  }

  /**
   * Fills every byte with 0xFF: NaN in every float dtype, -1 in int32. Tests poison outputs so an
   * element a kernel failed to write shows up.
   * @param stream stream to enqueue on
   */
  poison(stream?: CudaStream): void {
    this.#requireContiguous('poison');
    if (this.numel > 0) getBinding().memset(this.address, 0xff, this.byteLength, streamHandle(stream));
  }

  /** Sets every element to zero. @param stream stream to enqueue on */
  zero(stream?: CudaStream): void {
    this.#requireContiguous('zero');
    if (this.numel > 0) getBinding().memset(this.address, 0, this.byteLength, streamHandle(stream));
  }

  /**
   * Copies `src` (same dtype and element count, both contiguous) into this tensor, asynchronously.
   * @param src the source tensor
   * @param stream stream to enqueue on
   */
  copyFrom(src: DeviceTensor, stream?: CudaStream): void {
    this.#requireContiguous('copyFrom');
    if (src.dtype !== this.dtype || src.numel !== this.numel || !src.isContiguous) {
      throw new InvalidArgumentError('invalid_tensor', 'DeviceTensor.copyFrom', 'src', `a contiguous ${this.dtype} tensor of ${this.numel} elements`, `${src.dtype} [${src.shape.join(', ')}]`);
    }
    if (this.numel > 0) getBinding().copyDeviceToDevice(this.address, src.address, this.byteLength, streamHandle(stream));
  }

  /**
   * Frees the device memory now. Only the owning tensor may be freed; views become unusable too.
   * Call only after the work using it has finished (synchronize first). Idempotent.
   * @throws {DeviceMemoryError} when called on a view
   */
  free(): void {
    if (this.#owner !== null) throw new DeviceMemoryError('free() called on a view; free the tensor that owns the memory');
    if (this.#alloc.freed) return;
    this.#alloc.freed = true;
    registry.unregister(this.#alloc);
    if (this.#alloc.address !== 0n) getBinding().free(this.#alloc.address);
  }

  #requireContiguous(op: string): void {
    if (!this.isContiguous) {
      throw new InvalidArgumentError('invalid_tensor', `DeviceTensor.${op}`, 'this', 'a contiguous tensor', `rowStride ${this.rowStride}`);
    }
  }
}

function rowLength(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

function hostBytes(data: HostData, dtype: DType): ArrayBufferView {
  if (dtype === 'int32') {
    if (data instanceof Int32Array) return data;
    if (data instanceof Uint16Array || data instanceof Float32Array) {
      throw new InvalidArgumentError('invalid_data', 'DeviceTensor', 'data', 'an Int32Array or number[] for int32', data.constructor.name);
    }
    return Int32Array.from(data);
  }
  if (dtype === 'float32') {
    if (data instanceof Float32Array) return data;
    if (data instanceof Uint16Array || data instanceof Int32Array) {
      throw new InvalidArgumentError('invalid_data', 'DeviceTensor', 'data', 'a Float32Array or number[] for float32', data.constructor.name);
    }
    return Float32Array.from(data);
  }
  if (data instanceof Uint16Array) return data;
  invariant(dtype === 'bfloat16' || dtype === 'float16', 'every dtype is handled');
  return dtype === 'bfloat16' ? toBfloat16Bits(data) : toFloat16Bits(data);
}
