import { invariant, VllmError } from '@vllm-ts/core';
import type { ModelWeights } from '../loader/model-weights.js';
import type { ModelConfig } from '../model/model-config.js';
import { addInPlace, linear, rmsNorm, siluAndMul } from './kernels.js';
import { pagedAttention, writeKV, type AttentionMetadata } from './paged-attention.js';
import type { PagedKVCache } from './paged-kv-cache.js';
import { RotaryEmbedding } from './rotary-embedding.js';
import { WasmAttention } from './wasm-attention.js';
import { WasmLinear } from './wasm-linear.js';

/** Which matmul kernel a {@link CpuModel} uses: `auto` takes WebAssembly SIMD when the runtime has it. */
export type CpuKernel = 'auto' | 'js' | 'wasm-simd';

/** Options of {@link CpuModel}. */
export interface CpuModelOptions {
  /** Matmul kernel (default `auto`). */
  readonly kernel?: CpuKernel;
}

/** One forward pass's flattened inputs: every scheduled token of every request, in batch order. */
export interface ForwardBatch extends AttentionMetadata {
  readonly tokenIds: Int32Array;
  /** Tokens whose logits are wanted (indices into the batch), in output order. */
  readonly logitsRows: Int32Array;
  readonly numLogitsRows: number;
}

/**
 * The Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) on the CPU, over a paged KV cache.
 * Prefill chunks and decodes of different requests mix freely in one batch; only the rows listed
 * in `logitsRows` go through the final norm and the LM head. Scratch buffers grow to the largest
 * batch seen and are reused, so a step allocates nothing once warm.
 */
export class CpuModel {
  private readonly rotary: RotaryEmbedding;
  private readonly wasm: WasmLinear | null;
  private readonly wasmAttention: WasmAttention | null;
  /** The weights in use (moved into the SIMD kernel's memory when it is on). */
  readonly weights: ModelWeights;
  private capacity = 0;
  private logitsCapacity = 0;
  private hidden = new Float32Array(0);
  private normed = new Float32Array(0);
  private qkv = new Float32Array(0);
  private attn = new Float32Array(0);
  private proj = new Float32Array(0);
  private gateUp = new Float32Array(0);
  private act = new Float32Array(0);
  private rows = new Float32Array(0);
  private logits = new Float32Array(0);
  private scratch = new Float64Array(0);

  /**
   * @param config the model's shape
   * @param weights float32 weights of that shape
   * @param options matmul kernel
   * @throws VllmError (`wasm_simd_unavailable`) when `kernel: 'wasm-simd'` is asked for and the runtime lacks it
   */
  constructor(
    readonly config: ModelConfig,
    weights: ModelWeights,
    options: CpuModelOptions = {},
  ) {
    this.rotary = new RotaryEmbedding(config.rope);
    const kernel = options.kernel ?? 'auto';
    const placed = kernel === 'js' ? null : placeWeights(config, weights);
    if (kernel === 'wasm-simd' && !placed) {
      throw new VllmError('wasm_simd_unavailable', '[engine] kernel "wasm-simd" needs WebAssembly SIMD and weights under 4 GiB; use kernel "js"');
    }
    this.wasm = placed?.wasm ?? null;
    this.wasmAttention = placed && placed.maxContext > 0 ? new WasmAttention(placed.wasm, placed.maxContext, config.headDim) : null;
    this.weights = placed?.weights ?? weights;
  }

  /** The matmul kernel in use. */
  get kernel(): 'js' | 'wasm-simd' {
    return this.wasm ? 'wasm-simd' : 'js';
  }

  /**
   * Runs the decoder over `batch`, writing each token's keys and values to its slot, and returns
   * the logits of the `logitsRows` tokens.
   *
   * @param batch flattened tokens, positions, slots and block tables
   * @param cache the paged KV cache (read for context, written for this batch's tokens)
   * @returns `[numLogitsRows, vocabSize]` logits; a view valid until the next call
   */
  forward(batch: ForwardBatch, cache: PagedKVCache): Float32Array {
    const c = this.config;
    const T = batch.numTokens;
    const H = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const qkvDim = qDim + 2 * kvDim;
    const I = c.intermediateSize;
    invariant(cache.numKvHeads === c.numKvHeads && cache.headDim === c.headDim && cache.numLayers === c.numLayers, 'KV cache shape differs from the model');
    this.reserve(T, batch.numLogitsRows, batch);

    const { embed } = this.weights;
    for (let t = 0; t < T; t++) {
      const id = batch.tokenIds[t]!;
      invariant(id >= 0 && id < c.vocabSize, () => `token id ${id} outside the vocabulary of ${c.vocabSize}`);
      this.hidden.set(embed.subarray(id * H, id * H + H), t * H);
    }

    for (let l = 0; l < c.numLayers; l++) {
      const w = this.weights.layers[l]!;
      rmsNorm(this.normed, this.hidden, w.inputNorm, T, H, c.rmsNormEps);
      this.linear(this.qkv, this.normed, w.qkv, w.qkvBias, T, H, qkvDim);
      for (let t = 0; t < T; t++) {
        const base = t * qkvDim;
        if (w.qNorm && w.kNorm) {
          rmsNorm(this.qkv, this.qkv, w.qNorm, c.numHeads, c.headDim, c.rmsNormEps, c.headDim, base);
          rmsNorm(this.qkv, this.qkv, w.kNorm, c.numKvHeads, c.headDim, c.rmsNormEps, c.headDim, base + qDim);
        }
        const pos = batch.positions[t]!;
        this.rotary.apply(this.qkv, base, c.numHeads, c.headDim, pos);
        this.rotary.apply(this.qkv, base + qDim, c.numKvHeads, c.headDim, pos);
      }
      writeKV(cache, l, this.qkv, qkvDim, qDim, batch);
      this.attend(cache, l, batch, qkvDim);
      this.linear(this.proj, this.attn, w.o, w.oBias, T, qDim, H);
      addInPlace(this.hidden, this.proj, T * H);

      rmsNorm(this.normed, this.hidden, w.postNorm, T, H, c.rmsNormEps);
      this.linear(this.gateUp, this.normed, w.gateUp, w.gateUpBias, T, H, 2 * I);
      siluAndMul(this.act, this.gateUp, T, I);
      this.linear(this.proj, this.act, w.down, w.downBias, T, I, H);
      addInPlace(this.hidden, this.proj, T * H);
    }

    const R = batch.numLogitsRows;
    for (let r = 0; r < R; r++) {
      const t = batch.logitsRows[r]!;
      invariant(t >= 0 && t < T, () => `logits row ${t} outside the batch of ${T} tokens`);
      this.rows.set(this.hidden.subarray(t * H, t * H + H), r * H);
    }
    rmsNorm(this.rows, this.rows, this.weights.norm, R, H, c.rmsNormEps);
    this.linear(this.logits, this.rows, this.weights.lmHead, null, R, H, c.vocabSize);
    return this.logits.subarray(0, R * c.vocabSize);
  }

  /** Attention per sequence run (the batch builder keeps each sequence's tokens contiguous). */
  private attend(cache: PagedKVCache, layer: number, batch: ForwardBatch, qkvDim: number): void {
    const heads = this.config.numHeads;
    for (let from = 0; from < batch.numTokens; ) {
      const seq = batch.tokenSeq[from]!;
      let to = from + 1;
      while (to < batch.numTokens && batch.tokenSeq[to] === seq) to++;
      const wasm = this.wasmAttention;
      // Staging keys and values costs about what one query's JS attention does, so SIMD attention
      // pays off only when several query rows share the staged context.
      const queryRows = (to - from) * (heads / this.config.numKvHeads);
      if (wasm && queryRows >= WASM_ATTENTION_MIN_ROWS && batch.positions[to - 1]! < wasm.maxContext) wasm.run(this.attn, this.qkv, qkvDim, heads, cache, layer, batch, from, to);
      else pagedAttention(this.attn, this.qkv, qkvDim, heads, cache, layer, batch, this.scratch, from, to);
      from = to;
    }
  }

  private linear(out: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, rows: number, inDim: number, outDim: number): void {
    if (this.wasm && inDim % 4 === 0) this.wasm.linear(out, x, w, bias, rows, inDim, outDim);
    else linear(out, x, w, bias, rows, inDim, outDim);
  }

  private reserve(tokens: number, logitsRows: number, meta: AttentionMetadata): void {
    const c = this.config;
    const qDim = c.numHeads * c.headDim;
    const qkvDim = qDim + 2 * c.numKvHeads * c.headDim;
    if (tokens > this.capacity) {
      const n = Math.max(tokens, this.capacity * 2);
      this.hidden = new Float32Array(n * c.hiddenSize);
      this.normed = new Float32Array(n * c.hiddenSize);
      this.proj = new Float32Array(n * c.hiddenSize);
      this.qkv = new Float32Array(n * qkvDim);
      this.attn = new Float32Array(n * qDim);
      this.gateUp = new Float32Array(n * 2 * c.intermediateSize);
      this.act = new Float32Array(n * c.intermediateSize);
      this.capacity = n;
    }
    if (logitsRows > this.logitsCapacity) {
      const n = Math.max(logitsRows, this.logitsCapacity * 2);
      this.rows = new Float32Array(n * c.hiddenSize);
      this.logits = new Float32Array(n * c.vocabSize);
      this.logitsCapacity = n;
    }
    let maxCtx = 0;
    for (let t = 0; t < meta.numTokens; t++) maxCtx = Math.max(maxCtx, meta.positions[t]! + 1);
    const group = c.numHeads / c.numKvHeads;
    const need = group * maxCtx + group * c.headDim;
    if (need > this.scratch.length) this.scratch = new Float64Array(Math.max(need, this.scratch.length * 2));
  }
}

/** Fewest query rows (tokens x query heads per kv head) of one sequence that go to SIMD attention. */
const WASM_ATTENTION_MIN_ROWS = 8;

/** Longest context the SIMD attention stages (`2 * 16384 * headDim` floats of kernel memory). */
const MAX_WASM_CONTEXT = 16384;

/** Copies every weight into one WebAssembly memory (tied embeddings once); null when SIMD is unavailable. */
function placeWeights(c: ModelConfig, w: ModelWeights): { wasm: WasmLinear; weights: ModelWeights; maxContext: number } | null {
  const all: Float32Array[] = [w.embed, w.norm, ...(w.lmHead === w.embed ? [] : [w.lmHead])];
  for (const l of w.layers) {
    for (const a of [l.inputNorm, l.qkv, l.qkvBias, l.qNorm, l.kNorm, l.o, l.oBias, l.postNorm, l.gateUp, l.gateUpBias, l.down, l.downBias]) {
      if (a) all.push(a);
    }
  }
  const floats = all.reduce((n, a) => n + Math.ceil(a.length / 4) * 4, 0);
  const qkvDim = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const maxIn = Math.max(c.hiddenSize, c.numHeads * c.headDim, c.intermediateSize);
  const maxOut = Math.max(qkvDim, 2 * c.intermediateSize, c.hiddenSize, c.vocabSize);
  // SIMD attention stages keys and values of one sequence: capped so a long-context model does
  // not reserve gigabytes; longer sequences use the JS kernel.
  const maxContext = c.headDim % 4 === 0 ? Math.min(Math.ceil(c.maxModelLen / 4) * 4, MAX_WASM_CONTEXT) : 0;
  const attnFloats = maxContext > 0 ? WasmAttention.memoryFloats(maxContext, c.headDim) : 0;
  const wasm = WasmLinear.create(floats + attnFloats, Math.max(maxIn, maxContext), Math.max(maxOut, maxContext));
  if (!wasm) return null;
  const move = (a: Float32Array): Float32Array => {
    const b = wasm.alloc(a.length);
    b.set(a);
    return b;
  };
  const opt = (a: Float32Array | null): Float32Array | null => (a ? move(a) : null);
  const embed = move(w.embed);
  return {
    wasm,
    maxContext,
    weights: {
      embed,
      norm: move(w.norm),
      lmHead: w.lmHead === w.embed ? embed : move(w.lmHead),
      layers: w.layers.map((l) => ({
        inputNorm: move(l.inputNorm),
        qkv: move(l.qkv),
        qkvBias: opt(l.qkvBias),
        qNorm: opt(l.qNorm),
        kNorm: opt(l.kNorm),
        o: move(l.o),
        oBias: opt(l.oBias),
        postNorm: move(l.postNorm),
        gateUp: move(l.gateUp),
        gateUpBias: opt(l.gateUpBias),
        down: move(l.down),
        downBias: opt(l.downBias),
      })),
    },
  };
}
