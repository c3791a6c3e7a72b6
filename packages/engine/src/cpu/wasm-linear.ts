import { invariant } from '@vllm-ts/core';
import { wasmLinearModuleBytes } from './wasm-simd-module.js';

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Rows processed per call: bounds the input/output staging areas. */
const ROW_CHUNK = 64;

type LinearFn = (out: number, x: number, w: number, bias: number, rows: number, inDim: number, outDim: number) => void;

/** The slice of the WebAssembly JS API used here (the project's TypeScript lib has no DOM/WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

function compiledModule(): object | null {
  if (compiled === undefined) {
    try {
      if (!wasmApi) throw new Error('no WebAssembly');
      compiled = new wasmApi.Module(wasmLinearModuleBytes());
    } catch {
      compiled = null; // no WebAssembly SIMD on this runtime
    }
  }
  return compiled;
}

/**
 * Linear layers in WebAssembly SIMD over weights that live in one fixed-size WebAssembly memory.
 * The memory never grows (growing would detach every view), so it is sized once for the weights
 * plus staging areas for `ROW_CHUNK` rows of the widest input and output; inputs and outputs are
 * copied through the staging areas, which costs `rows * (in + out)` against `rows * in * out`
 * multiply-adds.
 */
export class WasmLinear {
  private readonly memory: WasmMemory;
  private readonly fn: LinearFn;
  private next = 64; // offset 0 stays unused so that 0 means "no bias"
  private readonly xStage: number;
  private readonly outStage: number;

  private constructor(memory: WasmMemory, fn: LinearFn, maxIn: number, maxOut: number) {
    this.memory = memory;
    this.fn = fn;
    this.xStage = this.reserve(ROW_CHUNK * maxIn);
    this.outStage = this.reserve(ROW_CHUNK * maxOut);
  }

  /**
   * A SIMD linear kernel with room for `weightFloats` floats of weights (allocated with
   * {@link WasmLinear.alloc}), or null when the runtime has no WebAssembly SIMD or the weights
   * exceed a 4 GiB memory.
   * @param weightFloats total floats of all weight tensors (each padded to 4 floats)
   * @param maxIn widest input of any layer
   * @param maxOut widest output of any layer
   */
  static create(weightFloats: number, maxIn: number, maxOut: number): WasmLinear | null {
    const mod = compiledModule();
    if (!mod || !wasmApi) return null;
    const bytes = 64 + 4 * (weightFloats + ROW_CHUNK * (maxIn + maxOut) + 64);
    const pages = Math.ceil(bytes / PAGE);
    if (pages > MAX_PAGES) return null;
    let memory: WasmMemory;
    try {
      memory = new wasmApi.Memory({ initial: pages, maximum: pages });
    } catch {
      return null;
    }
    const instance = new wasmApi.Instance(mod, { env: { memory } });
    return new WasmLinear(memory, instance.exports.linear as LinearFn, maxIn, maxOut);
  }

  /**
   * A zeroed float array inside the kernel's memory (16-byte aligned).
   * @param length number of floats
   * @throws InternalError when the memory sized at creation is exhausted
   */
  alloc(length: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.reserve(length), length);
  }

  /**
   * True when `a` lives in this kernel's memory (so it can be a weight or a bias).
   * @param a any float array
   */
  owns(a: Float32Array): boolean {
    return a.buffer === this.memory.buffer;
  }

  /**
   * `out[t, o] = sum_i x[t, i] * w[o, i] (+ bias[o])`, as the JS `linear()`.
   * @param out destination `[rows, outDim]`
   * @param x input `[rows, inDim]`
   * @param w weight `[outDim, inDim]`, allocated by {@link alloc}
   * @param bias optional `[outDim]`, allocated by {@link alloc}
   * @param rows input rows
   * @param inDim input features (a positive multiple of 4)
   * @param outDim output features
   */
  linear(out: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, rows: number, inDim: number, outDim: number): void {
    invariant(this.owns(w) && (bias === null || this.owns(bias)) && inDim % 4 === 0 && inDim > 0, 'WasmLinear needs its own weights and inDim % 4 === 0');
    const heap = new Float32Array(this.memory.buffer);
    const xs = this.xStage / 4;
    const os = this.outStage / 4;
    for (let t = 0; t < rows; t += ROW_CHUNK) {
      const n = Math.min(ROW_CHUNK, rows - t);
      heap.set(x.subarray(t * inDim, (t + n) * inDim), xs);
      this.fn(this.outStage, this.xStage, w.byteOffset, bias ? bias.byteOffset : 0, n, inDim, outDim);
      out.set(heap.subarray(os, os + n * outDim), t * outDim);
    }
  }

  private reserve(floats: number): number {
    const at = this.next;
    this.next += Math.ceil(floats / 4) * 16;
    invariant(this.next <= this.memory.buffer.byteLength, 'WasmLinear memory exhausted');
    return at;
  }
}
