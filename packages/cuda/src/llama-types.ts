// The inputs of LlamaForward: model shape, host weights, capacities and one step's flat inputs.
import type { HostData } from './device-tensor.js';
import type { FloatDType } from './dtype.js';
import type { RopeScaling } from './rope-cache.js';

/** The shape of a Llama-family decoder (Llama 2/3, Mistral, Qwen3 with `qkNorm`). */
export interface LlamaConfig {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling?: RopeScaling;
  readonly maxPosition: number;
  /** Qwen3: RMSNorm over each head of q and k before RoPE. */
  readonly qkNorm?: boolean;
  /** Biases on the q, k and v projections (Qwen2; Llama with `attention_bias`). */
  readonly qkvBias?: boolean;
  /** A bias on the output projection (Llama with `attention_bias`). */
  readonly oBias?: boolean;
}

/** One decoder layer's weights, PyTorch Linear layout ([out, in]), row-major host data. */
export interface LlamaLayerWeights {
  readonly inputLayernorm: HostData;
  readonly qProj: HostData;
  readonly kProj: HostData;
  readonly vProj: HostData;
  readonly oProj: HostData;
  readonly postAttentionLayernorm: HostData;
  readonly gateProj: HostData;
  readonly upProj: HostData;
  readonly downProj: HostData;
  readonly qNorm?: HostData;
  readonly kNorm?: HostData;
  /** Present when the config has `qkvBias`. */
  readonly qBias?: HostData;
  readonly kBias?: HostData;
  readonly vBias?: HostData;
  /** Present when the config has `oBias`. */
  readonly oBias?: HostData;
}

/**
 * All weights as host arrays: float values, or raw 16-bit patterns (Uint16Array) of the model dtype.
 * Fields may be getters that read their tensor on access: each is read once, when uploaded.
 */
export interface LlamaHostWeights {
  readonly embedTokens: HostData;
  readonly layers: readonly LlamaLayerWeights[];
  readonly norm: HostData;
  /** Absent when tied to embedTokens. */
  readonly lmHead?: HostData;
}

/** Capacity of a {@link LlamaForward}. */
export interface LlamaForwardOptions {
  readonly dtype: FloatDType;
  /** Most tokens one step may schedule. */
  readonly maxNumTokens: number;
  /** Most sequences one step may hold. */
  readonly maxNumSeqs: number;
  /** Most logits rows one step computes (default `maxNumSeqs`; more with draft tokens). */
  readonly maxNumLogits?: number;
  /** KV blocks to allocate now; 0 or absent: call {@link LlamaForward.allocateKvCache} later. */
  readonly numBlocks?: number;
  readonly blockSize: number;
  /** Block-table width: the longest sequence is maxBlocksPerSeq * blockSize tokens. */
  readonly maxBlocksPerSeq: number;
  /**
   * Steps of up to 8 tokens (bf16/fp16) take the fused skinny-GEMM kernels: gate/up with SiLU-and-multiply,
   * and q/k/v with RoPE and the KV-cache write (models without q/k/v biases or q/k norms). Default true;
   * false runs the separate kernels (same values up to the GEMM algorithm `gemm` picks). Read at each run.
   */
  readonly fuseDecodeKernels?: boolean;
}

/** One step's inputs, flat as the model runner prepares them. */
export interface LlamaStep {
  readonly tokenIds: Int32Array;
  readonly positions: Int32Array;
  readonly slotMapping: Int32Array;
  /** Shape `[numSeqs * maxBlocksPerSeq]`, row-major. */
  readonly blockTables: Int32Array;
  readonly seqLens: Int32Array;
  /** Shape `[numSeqs + 1]`. */
  readonly queryStartLoc: Int32Array;
  /** Rows (token indices) whose logits are wanted, one per sampled sequence. */
  readonly logitsIndices: Int32Array;
}

/** What {@link LlamaForward.run} needs to know about the step the inputs hold (fixed inside a CUDA graph). */
export interface LlamaStepShape {
  readonly numTokens: number;
  readonly numSeqs: number;
  readonly numLogits: number;
  readonly maxQueryLen: number;
  /** Bound on seqLens; the decode grid is sized from it. */
  readonly maxSeqLen: number;
  /** Every sequence has exactly one new token: the split-K decode kernel runs. */
  readonly isDecode: boolean;
}
