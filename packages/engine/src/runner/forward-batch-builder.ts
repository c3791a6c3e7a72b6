import { invariant } from '@vllm-ts/core';
import type { ForwardBatch } from '../cpu/cpu-model.js';
import type { RequestState } from './request-state.js';

/** One request of a step, as the batch builder sees it. */
export interface ScheduledRequest {
  readonly state: RequestState;
  readonly numScheduledTokens: number;
  /** Draft tokens to verify (appended after the request's known tokens). */
  readonly drafts: readonly number[];
}

/** Where one request's rows ended up in the batch's logits. */
export interface PlannedRequest {
  readonly state: RequestState;
  readonly drafts: readonly number[];
  /** Logits rows to sample from: one per draft plus one; empty for a partial prefill chunk. */
  readonly sampleRows: readonly number[];
  /** Logits rows giving prompt logprobs, for prompt tokens `promptStart ..`. */
  readonly promptRows: readonly number[];
  readonly promptStart: number;
}

/** A flattened batch plus the per-request row plan. */
export interface BatchPlan {
  readonly batch: ForwardBatch;
  readonly requests: readonly PlannedRequest[];
}

/**
 * Flattens the scheduled requests into one forward batch (vLLM's `_prepare_inputs`): token ids,
 * positions, slot mapping and block tables for tokens `numComputedTokens ..
 * numComputedTokens + numScheduledTokens` of each request, and the logits rows to compute — the
 * last known token's row (plus one per draft) when the chunk reaches the end of the known tokens,
 * and the rows of prompt positions whose logprobs were asked for.
 *
 * @param requests scheduled requests in batch order
 * @param blockSize tokens per KV block
 * @param blockTableWidth fixed row width of the block tables (a device runner's); default: the longest table
 * @returns the batch and where each request's rows are
 */
export function buildForwardBatch(requests: readonly ScheduledRequest[], blockSize: number, blockTableWidth?: number): BatchPlan {
  let numTokens = 0;
  let maxBlocks = 1;
  for (const r of requests) {
    numTokens += r.numScheduledTokens;
    maxBlocks = Math.max(maxBlocks, r.state.blockTable.length);
  }
  if (blockTableWidth !== undefined) {
    invariant(maxBlocks <= blockTableWidth, () => `a block table of ${maxBlocks} blocks exceeds the ${blockTableWidth} a sequence may hold`);
    maxBlocks = blockTableWidth;
  }
  const tokenIds = new Int32Array(numTokens);
  const positions = new Int32Array(numTokens);
  const slotMapping = new Int32Array(numTokens);
  const tokenSeq = new Int32Array(numTokens);
  const blockTables = new Int32Array(requests.length * maxBlocks);
  const logitsRows: number[] = [];
  const planned: PlannedRequest[] = [];

  let t = 0;
  requests.forEach((r, seq) => {
    const { state, numScheduledTokens: n, drafts } = r;
    const start = state.numComputedTokens;
    const known = state.tokens.length;
    const end = start + n;
    invariant(end <= known + drafts.length, () => `request ${state.reqId}: ${n} tokens scheduled from ${start} but only ${known} known + ${drafts.length} drafts`);
    invariant(drafts.length === 0 || end === known + drafts.length, () => `request ${state.reqId}: drafts must follow the last known token`);
    const table = state.blockTable;
    invariant(Math.ceil(end / blockSize) <= table.length, () => `request ${state.reqId}: ${table.length} blocks cannot hold ${end} tokens`);
    blockTables.set(table, seq * maxBlocks);
    const first = t;
    for (let p = start; p < end; p++, t++) {
      tokenIds[t] = p < known ? state.tokens[p]! : drafts[p - known]!;
      positions[t] = p;
      slotMapping[t] = table[(p / blockSize) | 0]! * blockSize + (p % blockSize);
      tokenSeq[t] = seq;
    }
    const promptRows: number[] = [];
    let promptStart = 0;
    if (state.params.promptLogprobs !== null) {
      // Row p predicts prompt token p + 1.
      const from = Math.max(start, state.promptLogprobsNext);
      const to = Math.min(end, state.numPromptTokens - 1);
      promptStart = from + 1;
      for (let p = from; p < to; p++) {
        promptRows.push(logitsRows.length);
        logitsRows.push(first + p - start);
      }
      state.promptLogprobsNext = Math.max(state.promptLogprobsNext, to);
    }
    const sampleRows: number[] = [];
    if (end >= known) {
      invariant(known - 1 >= start, () => `request ${state.reqId}: nothing new to compute at ${start} of ${known}`);
      for (let p = known - 1; p < end; p++) {
        sampleRows.push(logitsRows.length);
        logitsRows.push(first + p - start);
      }
    }
    planned.push({ state, drafts, sampleRows, promptRows, promptStart });
  });

  return {
    batch: {
      numTokens,
      tokenIds,
      positions,
      slotMapping,
      tokenSeq,
      blockTables,
      maxBlocksPerSeq: maxBlocks,
      logitsRows: Int32Array.from(logitsRows),
      numLogitsRows: logitsRows.length,
    },
    requests: planned,
  };
}
