import { InvalidArgumentError } from '@vllm-ts/core';

/**
 * Coefficients of the GPU step-time model. Step time is the sum of a fixed overhead, one read of
 * the weights, the matmul FLOPs of every scheduled token, the attention FLOPs over each token's
 * context, and one read of every scheduled request's KV cache:
 *
 * `t = overheadS + weightBytes / memBandwidth + (2 * numParams * tokens + attnFlops) / flops + kvBytes / memBandwidth`
 *
 * A sum rather than a roofline `max` because, within one step, decode phases are bandwidth-bound and
 * prefill phases compute-bound, and kernels do not overlap them perfectly; it overestimates a
 * perfectly overlapped step by at most 2x and never underestimates it.
 */
export interface CostModel {
  /** Bytes of weights read once per step. */
  readonly weightBytes: number;
  /** Parameters (for the 2 FLOPs per parameter per token of the matmuls). */
  readonly numParams: number;
  /** Transformer layers (attention FLOPs). */
  readonly numLayers: number;
  /** Query heads times head dim (attention FLOPs). */
  readonly attnDim: number;
  /** KV-cache bytes per token of context, all layers, K and V. */
  readonly kvBytesPerToken: number;
  /** Achievable HBM bandwidth, bytes/s. */
  readonly memBandwidth: number;
  /** Achievable dense matmul throughput, FLOP/s. */
  readonly flops: number;
  /** Fixed time per step (launches, sampling, host work), seconds. */
  readonly overheadS: number;
  /** KV-cache capacity in tokens (sizes the simulated block pool). */
  readonly kvCacheTokens: number;
}

const GB = 1e9;

/**
 * Llama-3.1-8B in bf16 on one H200, from first principles:
 * - weights: 8.03e9 params x 2 bytes = 16.06 GB, read once per step;
 * - HBM3e: 4.8 TB/s peak, ~4.3 TB/s achievable (90%);
 * - bf16 dense: 989 TFLOP/s peak, ~800 TFLOP/s achievable on large GEMMs;
 * - KV per token: 2 (K,V) x 32 layers x 8 KV heads x 128 dims x 2 bytes = 131072 bytes;
 * - attention FLOPs per token: 4 x 32 layers x 4096 (32 heads x 128) x context;
 * - KV capacity: 141 GB x 0.9 utilization - 16.06 GB weights - ~4 GB activations ~= 106.8 GB,
 *   / 131072 bytes = ~815k tokens;
 * - overhead: 0.5 ms per step (kernel launches with CUDA graphs, sampling, host-side bookkeeping).
 * A pure decode step of 64 requests at 1k context: 3.73 ms weights + 2.0 ms KV + 0.5 ms = ~6.3 ms,
 * within the 5-13 ms per step vLLM's v0.6.0 blog profiles for an 8B model on an H100.
 */
export const LLAMA31_8B_H200: CostModel = Object.freeze({
  weightBytes: 16.06 * GB,
  numParams: 8.03e9,
  numLayers: 32,
  attnDim: 4096,
  kvBytesPerToken: 131072,
  memBandwidth: 4.3e12,
  flops: 800e12,
  overheadS: 0.5e-3,
  kvCacheTokens: Math.floor((141 * 0.9 - 16.06 - 4) * GB / 131072),
});

/** One scheduled request in a step: tokens computed now and context already in the cache before them. */
export interface StepRequestWork {
  readonly numTokens: number;
  readonly numComputedTokens: number;
}

/**
 * Predicted duration of one engine step.
 * @param m the coefficients
 * @param work per scheduled request, its new tokens and prior context
 * @returns seconds
 */
export function stepTime(m: CostModel, work: readonly StepRequestWork[]): number {
  if (work.length === 0) return 0;
  let tokens = 0;
  let attnFlops = 0;
  let kvBytes = 0;
  for (const w of work) {
    tokens += w.numTokens;
    // Token j of the chunk attends to numComputed + j + 1 positions; summed over the chunk.
    const ctxSum = w.numTokens * w.numComputedTokens + (w.numTokens * (w.numTokens + 1)) / 2;
    attnFlops += 4 * m.numLayers * m.attnDim * ctxSum;
    kvBytes += (w.numComputedTokens + w.numTokens) * m.kvBytesPerToken;
  }
  return m.overheadS + (m.weightBytes + kvBytes) / m.memBandwidth + (2 * m.numParams * tokens + attnFlops) / m.flops;
}

/**
 * Parses `key=value` overrides (`memBandwidth=3.35e12,flops=700e12`) onto a base model.
 * @param base the defaults
 * @param spec comma-separated assignments; empty keeps the base
 * @returns the merged model
 * @throws InvalidArgumentError `invalid_option` for an unknown key (with the known ones) or a non-positive value
 */
export function parseCostModel(base: CostModel, spec: string): CostModel {
  const out: Record<string, number> = { ...base };
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [key, raw] = part.split('=', 2) as [string, string | undefined];
    if (!(key in base)) throw new InvalidArgumentError('invalid_option', '--cost-model', key, `one of ${Object.keys(base).join(', ')}`, part);
    const value = Number(raw);
    if (!(value >= 0) || !Number.isFinite(value)) throw new InvalidArgumentError('invalid_option', '--cost-model', key, 'a finite number >= 0', raw);
    out[key] = value;
  }
  return Object.freeze(out as unknown as CostModel);
}
