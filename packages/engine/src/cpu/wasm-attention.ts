import type { AttentionMetadata } from './paged-attention.js';
import type { PagedKVCache } from './paged-kv-cache.js';
import type { WasmLinear } from './wasm-linear.js';

/** Query tokens per pass: bounds the score buffer at `QUERY_CHUNK * group * context`. */
const QUERY_CHUNK = 32;

/**
 * Paged attention as two SIMD products per (sequence, kv head): the sequence's keys are gathered
 * from their blocks into a contiguous `[context, headDim]` stage and values into a transposed
 * `[headDim, context]` stage inside the kernel's memory; then scores = Q K^T, a causal softmax in
 * doubles, and out = P V. Same result as `pagedAttention()` up to float32 summation order.
 * Sequences longer than `maxContext` are left to the caller.
 */
export class WasmAttention {
  private readonly kStage: Float32Array;
  private readonly vtStage: Float32Array;
  private q = new Float32Array(0);
  private scores = new Float32Array(0);
  private probs = new Float32Array(0);
  private o = new Float32Array(0);

  /**
   * @param wasm the SIMD kernel (its memory must have room for `2 * maxContext * headDim` floats)
   * @param maxContext longest context handled (a multiple of 4)
   * @param headDim head size (a multiple of 4)
   */
  constructor(
    private readonly wasm: WasmLinear,
    readonly maxContext: number,
    readonly headDim: number,
  ) {
    this.kStage = wasm.alloc(maxContext * headDim);
    this.vtStage = wasm.alloc(maxContext * headDim);
  }

  /**
   * Floats of kernel memory a {@link WasmAttention} of this size takes.
   * @param maxContext longest context handled
   * @param headDim head size
   */
  static memoryFloats(maxContext: number, headDim: number): number {
    return 2 * maxContext * headDim + 16;
  }

  /**
   * Attention of tokens `from..to` (one sequence, increasing positions) into `out`.
   * @param out `[numTokens, numHeads * headDim]`
   * @param qkv rotated queries at `t * qkvStride`
   * @param qkvStride floats per token in `qkv`
   * @param numHeads query heads
   * @param cache the paged cache (this layer's keys and values already written)
   * @param layer layer index
   * @param meta positions and block tables
   * @param from first token of the sequence in the batch
   * @param to one past its last token
   */
  run(out: Float32Array, qkv: Float32Array, qkvStride: number, numHeads: number, cache: PagedKVCache, layer: number, meta: AttentionMetadata, from: number, to: number): void {
    const D = this.headDim;
    const { numKvHeads, blockSize } = cache;
    const group = numHeads / numKvHeads;
    const kvDim = numKvHeads * D;
    const qDim = numHeads * D;
    const key = cache.key[layer]!;
    const value = cache.value[layer]!;
    const ctx = meta.positions[to - 1]! + 1;
    const ctxPad = Math.ceil(ctx / 4) * 4;
    const tableBase = meta.tokenSeq[from]! * meta.maxBlocksPerSeq;
    const scale = 1 / Math.sqrt(D);
    const rowsMax = Math.min(QUERY_CHUNK, to - from) * group;
    this.reserve(rowsMax, ctxPad);
    const kSt = this.kStage;
    const vt = this.vtStage;
    for (let kvh = 0; kvh < numKvHeads; kvh++) {
      for (let j = 0, b = 0; j < ctx; b++) {
        const slotBase = meta.blockTables[tableBase + b]! * blockSize;
        for (const end = Math.min(j + blockSize, ctx); j < end; j++) {
          const src = (slotBase + (j % blockSize)) * kvDim + kvh * D;
          kSt.set(key.subarray(src, src + D), j * D);
          for (let d = 0; d < D; d++) vt[d * ctxPad + j] = value[src + d]!;
        }
      }
      for (let j = ctx; j < ctxPad; j++) for (let d = 0; d < D; d++) vt[d * ctxPad + j] = 0;

      for (let a = from; a < to; a += QUERY_CHUNK) {
        const b = Math.min(a + QUERY_CHUNK, to);
        const rows = (b - a) * group;
        for (let t = a; t < b; t++) {
          const q0 = t * qkvStride + kvh * group * D;
          this.q.set(qkv.subarray(q0, q0 + group * D), (t - a) * group * D);
        }
        this.wasm.linear(this.scores, this.q, kSt, null, rows, D, ctx);
        for (let r = 0; r < rows; r++) {
          const limit = meta.positions[a + ((r / group) | 0)]! + 1;
          const s0 = r * ctx;
          const p0 = r * ctxPad;
          let max = -Infinity;
          for (let j = 0; j < limit; j++) if (this.scores[s0 + j]! > max) max = this.scores[s0 + j]!;
          let sum = 0;
          for (let j = 0; j < limit; j++) {
            const e = Math.exp((this.scores[s0 + j]! - max) * scale);
            this.probs[p0 + j] = e;
            sum += e;
          }
          const inv = 1 / sum;
          for (let j = 0; j < limit; j++) this.probs[p0 + j] = this.probs[p0 + j]! * inv;
          this.probs.fill(0, p0 + limit, p0 + ctxPad);
        }
        this.wasm.linear(this.o, this.probs, vt, null, rows, ctxPad, D);
        for (let t = a; t < b; t++) {
          const dst = t * qDim + kvh * group * D;
          out.set(this.o.subarray((t - a) * group * D, (t - a + 1) * group * D), dst);
        }
      }
    }
  }

  private reserve(rows: number, ctxPad: number): void {
    if (this.q.length < rows * this.headDim) this.q = new Float32Array(rows * this.headDim);
    if (this.o.length < rows * this.headDim) this.o = new Float32Array(rows * this.headDim);
    if (this.scores.length < rows * ctxPad) {
      this.scores = new Float32Array(Math.max(rows * ctxPad, this.scores.length * 2));
      this.probs = new Float32Array(this.scores.length);
    }
  }
}
