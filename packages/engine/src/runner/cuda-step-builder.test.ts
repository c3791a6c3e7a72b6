import { describe, expect, it } from 'vitest';
import { SamplingParams, type RequestId } from '@vllm-ts/core';
import { buildForwardBatch, type ScheduledRequest } from './forward-batch-builder.js';
import { buildCudaStep, decodeGraphBatchSizes, decodeSeqLenBucket, isGraphableDecode, padDecodeStep } from './cuda-step-builder.js';
import { samplesOnDevice } from './cuda-sampler.js';
import type { RequestState } from './request-state.js';

function state(id: string, tokens: number[], numComputed: number, blocks: number[], params = new SamplingParams({ temperature: 0 })): RequestState {
  return {
    reqId: id as RequestId, params, numPromptTokens: Math.min(tokens.length, 3), tokens, blockTable: blocks,
    numComputedTokens: numComputed, generator: null, preempted: false, promptLogprobsNext: 0,
  };
}

describe('buildCudaStep', () => {
  it('lays out a mixed prefill + decode batch at a fixed block-table width', () => {
    const scheduled: ScheduledRequest[] = [
      { state: state('a', [5, 6, 7, 8, 9], 0, [3, 4]), numScheduledTokens: 5, drafts: [] },
      { state: state('b', [1, 2, 3, 4, 5, 6], 5, [7, 2]), numScheduledTokens: 1, drafts: [] },
    ];
    const plan = buildForwardBatch(scheduled, 4, 3);
    const { step, shape } = buildCudaStep(plan, scheduled, 8);
    expect([...step.tokenIds]).toEqual([5, 6, 7, 8, 9, 6]);
    expect([...step.positions]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...step.slotMapping]).toEqual([12, 13, 14, 15, 16, 9]);
    expect([...step.blockTables]).toEqual([3, 4, 0, 7, 2, 0]);
    expect([...step.seqLens]).toEqual([5, 6]);
    expect([...step.queryStartLoc]).toEqual([0, 5, 6]);
    expect([...step.logitsIndices]).toEqual([4, 5]);
    expect(shape).toEqual({ numTokens: 6, numSeqs: 2, numLogits: 2, maxQueryLen: 5, maxSeqLen: 6, isDecode: false });
    expect(isGraphableDecode({ step, shape }, 8)).toBe(false);
  });

  it('keeps at most maxNumLogits rows; the rest are computed after the forward pass', () => {
    const params = new SamplingParams({ temperature: 0, promptLogprobs: 1 });
    const scheduled: ScheduledRequest[] = [{ state: state('a', [5, 6, 7], 0, [1], params), numScheduledTokens: 3, drafts: [] }];
    const plan = buildForwardBatch(scheduled, 4, 2);
    expect(plan.batch.numLogitsRows).toBe(3);
    const { step, shape } = buildCudaStep(plan, scheduled, 2);
    expect(shape.numLogits).toBe(2);
    expect([...step.logitsIndices]).toEqual([0, 1]);
  });

  it('pads a decode step for graph replay: padding writes nowhere and reads one token of block 0', () => {
    const scheduled: ScheduledRequest[] = [
      { state: state('a', [1, 2, 3, 4], 3, [5]), numScheduledTokens: 1, drafts: [] },
      { state: state('b', [1, 2, 3, 4, 5, 6], 5, [6, 8]), numScheduledTokens: 1, drafts: [] },
    ];
    const s = buildCudaStep(buildForwardBatch(scheduled, 4, 2), scheduled, 8);
    expect(isGraphableDecode(s, 4)).toBe(true);
    expect(isGraphableDecode(s, 1)).toBe(false);
    const p = padDecodeStep(s, 4, 256);
    expect([...p.step.tokenIds]).toEqual([4, 6, 0, 0]);
    expect([...p.step.slotMapping]).toEqual([23, 33, -1, -1]);
    expect([...p.step.seqLens]).toEqual([4, 6, 1, 1]);
    expect([...p.step.blockTables]).toEqual([5, 0, 6, 8, 0, 0, 0, 0]);
    expect([...p.step.queryStartLoc]).toEqual([0, 1, 2, 3, 4]);
    expect([...p.step.logitsIndices]).toEqual([0, 1, 2, 3]);
    expect(p.shape).toEqual({ numTokens: 4, numSeqs: 4, numLogits: 4, maxQueryLen: 1, maxSeqLen: 256, isDecode: true });
  });
});

describe('decode graph shapes', () => {
  it('batch sizes follow vLLM ladder up to the first size holding maxNumSeqs', () => {
    expect(decodeGraphBatchSizes(1)).toEqual([1]);
    expect(decodeGraphBatchSizes(5)).toEqual([1, 2, 4, 8]);
    expect(decodeGraphBatchSizes(20)).toEqual([1, 2, 4, 8, 16, 24]);
    expect(decodeGraphBatchSizes(256).at(-1)).toBe(256);
    expect(decodeGraphBatchSizes(256)).toHaveLength(35);
  });
  it('context bounds are multiples of an eighth of the enclosing power of two (at least 256), capped at the longest sequence', () => {
    expect(decodeSeqLenBucket(1, 4096)).toBe(256);
    expect(decodeSeqLenBucket(257, 4096)).toBe(512);
    expect(decodeSeqLenBucket(1024, 4096)).toBe(1024);
    expect(decodeSeqLenBucket(1025, 4096)).toBe(1280);
    expect(decodeSeqLenBucket(1152, 4096)).toBe(1280);
    expect(decodeSeqLenBucket(2049, 8192)).toBe(2560);
    expect(decodeSeqLenBucket(4097, 8192)).toBe(5120);
    expect(decodeSeqLenBucket(3000, 3000)).toBe(3000);
  });
});

describe('samplesOnDevice', () => {
  const plan = (params: SamplingParams, opts: { drafts?: number[]; promptRows?: number[]; outputs?: number } = {}) => ({
    state: state('a', [1, 2, 3, ...Array.from({ length: opts.outputs ?? 0 }, () => 9)], 0, [1], params),
    drafts: opts.drafts ?? [], sampleRows: [0, ...(opts.drafts ?? []).map((_, i) => i + 1)], promptRows: opts.promptRows ?? [], promptStart: 0,
  });
  it('takes greedy and plain temperature / top-k / top-p / min-p sampling', () => {
    expect(samplesOnDevice(plan(new SamplingParams({ temperature: 0 })))).toBe(true);
    expect(samplesOnDevice(plan(new SamplingParams({ temperature: 0.7, topK: 20, topP: 0.9, minP: 0.05, seed: 3 })))).toBe(true);
  });
  it('leaves logprobs, penalties, drafts, prompt logprobs and pending min-tokens to the host', () => {
    expect(samplesOnDevice(plan(new SamplingParams({ logprobs: 1 })))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({ repetitionPenalty: 1.1 })))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({ presencePenalty: 0.5 })))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({ logitBias: { 3: 5 } })))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({ allowedTokenIds: [1, 2] })))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({}), { drafts: [4, 5] }))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({}), { promptRows: [0] }))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({ minTokens: 2 }), { outputs: 1 }))).toBe(false);
    expect(samplesOnDevice(plan(new SamplingParams({ minTokens: 2 }), { outputs: 2 }))).toBe(true);
  });
});
