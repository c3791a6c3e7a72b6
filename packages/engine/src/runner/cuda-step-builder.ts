import { invariant } from '@vllm-ts/core';
import type { LlamaStep, LlamaStepShape } from '@vllm-ts/cuda';
import type { BatchPlan, ScheduledRequest } from './forward-batch-builder.js';

/** One step's device inputs and what the forward pass needs to know about them. */
export interface CudaStep {
  readonly step: LlamaStep;
  readonly shape: LlamaStepShape;
}

/**
 * Completes a flattened batch as the CUDA forward pass reads it: per-sequence context lengths and
 * query offsets, and the logits rows (at most `maxNumLogits`; the rest are computed afterwards).
 * @param plan the batch from `buildForwardBatch`, built at the forward pass's block-table width
 * @param scheduled the same requests, in batch order
 * @param maxNumLogits most logits rows the forward pass computes
 * @returns the step and its shape
 */
export function buildCudaStep(plan: BatchPlan, scheduled: readonly ScheduledRequest[], maxNumLogits: number): CudaStep {
  const b = plan.batch;
  const numSeqs = scheduled.length;
  const seqLens = new Int32Array(numSeqs);
  const queryStartLoc = new Int32Array(numSeqs + 1);
  let maxQueryLen = 0;
  let maxSeqLen = 0;
  for (let s = 0; s < numSeqs; s++) {
    const r = scheduled[s]!;
    seqLens[s] = r.state.numComputedTokens + r.numScheduledTokens;
    queryStartLoc[s + 1] = queryStartLoc[s]! + r.numScheduledTokens;
    maxQueryLen = Math.max(maxQueryLen, r.numScheduledTokens);
    maxSeqLen = Math.max(maxSeqLen, seqLens[s]!);
  }
  invariant(queryStartLoc[numSeqs] === b.numTokens, 'the batch holds every scheduled token');
  const numLogits = Math.min(b.numLogitsRows, maxNumLogits);
  return {
    step: {
      tokenIds: b.tokenIds,
      positions: b.positions,
      slotMapping: b.slotMapping,
      blockTables: b.blockTables,
      seqLens,
      queryStartLoc,
      logitsIndices: b.logitsRows.subarray(0, numLogits),
    },
    shape: { numTokens: b.numTokens, numSeqs, numLogits, maxQueryLen, maxSeqLen, isDecode: maxQueryLen === 1 },
  };
}

/**
 * True when a step can replay a captured decode graph: one new token per sequence, one logits
 * row per sequence (no drafts, no prompt logprobs), at most `maxBatch` sequences.
 * @param s the step
 * @param maxBatch largest captured batch
 */
export function isGraphableDecode(s: CudaStep, maxBatch: number): boolean {
  const { shape } = s;
  return shape.isDecode && shape.numSeqs <= maxBatch && shape.numLogits === shape.numSeqs && shape.numTokens === shape.numSeqs;
}

/**
 * Batch sizes decode graphs are captured at (vLLM's ladder: 1, 2, 4, then multiples of 8), up to
 * the first size that holds `maxNumSeqs`.
 * @param maxNumSeqs most sequences a step holds
 * @returns ascending sizes
 */
export function decodeGraphBatchSizes(maxNumSeqs: number): number[] {
  const sizes = [1, 2, 4];
  for (let b = 8; sizes[sizes.length - 1]! < maxNumSeqs; b += 8) sizes.push(b);
  return sizes.filter((b, i) => i === 0 || sizes[i - 1]! < maxNumSeqs);
}

/**
 * The context-length bound a decode graph is captured for: the next multiple of an eighth of the
 * enclosing power of two (at least 256), capped at the longest sequence. The decode kernel's grid
 * is sized from it, so the bound exceeds the step's longest context by under an eighth of that
 * power of two: partitions past a sequence's length exit at once but still cost their launch
 * (at batch 1, power-of-two bounds cost ~0.05 ms per step at a 1,100-token context on an H200).
 * @param maxSeqLen longest context in the step
 * @param cap longest context a sequence may have
 */
export function decodeSeqLenBucket(maxSeqLen: number, cap: number): number {
  let pow = 256;
  while (pow < maxSeqLen) pow *= 2;
  const step = Math.max(256, pow / 8);
  return Math.min(Math.ceil(maxSeqLen / step) * step, cap);
}

/**
 * Pads a decode step to `batch` sequences for graph replay. Padding sequences read one token of
 * block 0 (never written: its slot is -1) and their logits rows are ignored.
 * @param s a step accepted by {@link isGraphableDecode}
 * @param batch padded size, at least the step's sequences
 * @param seqLenBound the graph's context bound
 * @returns the padded step and its shape
 */
export function padDecodeStep(s: CudaStep, batch: number, seqLenBound: number): CudaStep {
  const n = s.shape.numSeqs;
  invariant(batch >= n && seqLenBound >= s.shape.maxSeqLen, 'a padded step only grows');
  const width = s.step.blockTables.length / Math.max(n, 1);
  const grow = (a: Int32Array, len: number, fill: number): Int32Array => {
    const out = new Int32Array(len).fill(fill);
    out.set(a.subarray(0, Math.min(a.length, len)));
    return out;
  };
  const queryStartLoc = new Int32Array(batch + 1);
  for (let i = 0; i <= batch; i++) queryStartLoc[i] = i;
  const logitsIndices = new Int32Array(batch);
  logitsIndices.set(s.step.logitsIndices);
  for (let i = n; i < batch; i++) logitsIndices[i] = i;
  return {
    step: {
      tokenIds: grow(s.step.tokenIds, batch, 0),
      positions: grow(s.step.positions, batch, 0),
      slotMapping: grow(s.step.slotMapping, batch, -1),
      blockTables: grow(s.step.blockTables, batch * width, 0),
      seqLens: grow(s.step.seqLens, batch, 1),
      queryStartLoc,
      logitsIndices,
    },
    shape: { numTokens: batch, numSeqs: batch, numLogits: batch, maxQueryLen: 1, maxSeqLen: seqLenBound, isDecode: true },
  };
}

/**
 * The profiling step of the CUDA runner: `numSeqs` prefills of up to `seqLen` tokens each
 * (`numTokens` in all), sequence s in blocks `1 + s * blocksPerSeq ...` (block 0 stays the null
 * block), sampling the last token of each sequence (at most `maxNumLogits`).
 * @param numSeqs sequences
 * @param numTokens tokens in all
 * @param seqLen tokens per sequence at most
 * @param blockSize tokens per KV block
 * @param width block-table width of the forward pass
 * @param maxNumLogits most logits rows
 * @returns the step's flat inputs
 */
export function profileStep(numSeqs: number, numTokens: number, seqLen: number, blockSize: number, width: number, maxNumLogits: number): LlamaStep {
  const blocksPerSeq = Math.ceil(seqLen / blockSize);
  const blockTables = new Int32Array(numSeqs * width);
  const tokenIds = new Int32Array(numTokens);
  const positions = new Int32Array(numTokens);
  const slotMapping = new Int32Array(numTokens);
  const seqLens = new Int32Array(numSeqs);
  const queryStartLoc = new Int32Array(numSeqs + 1);
  for (let s = 0, t = 0; s < numSeqs; s++) {
    const len = Math.min(seqLen, numTokens - t);
    for (let b = 0; b < blocksPerSeq; b++) blockTables[s * width + b] = 1 + s * blocksPerSeq + b;
    for (let p = 0; p < len; p++, t++) {
      positions[t] = p;
      slotMapping[t] = blockTables[s * width + Math.floor(p / blockSize)]! * blockSize + (p % blockSize);
    }
    seqLens[s] = len;
    queryStartLoc[s + 1] = t;
  }
  const logitsIndices = Int32Array.from({ length: Math.min(numSeqs, maxNumLogits) }, (_, s) => queryStartLoc[s + 1]! - 1);
  return { tokenIds, positions, slotMapping, blockTables, seqLens, queryStartLoc, logitsIndices };
}
