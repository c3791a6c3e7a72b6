import { RequestStatus, VllmError, childRequestId, requestId, type SchedulerOutput } from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { referenceOutputs } from './internal/kv-simulating-runner.js';
import { makeRequest, runToCompletion, runnerFor, tokensBySeq } from './internal/test-helpers.js';
import { SchedulerV0 } from './scheduler-v0.js';
import type { SchedulerV0Options } from './config.js';

const base = { blockSize: 4, maxModelLen: 64, maxNumBatchedTokens: 64, maxNumSeqs: 8, watermark: 0, clock: () => 0 } as const;

function setup(options: Partial<SchedulerV0Options> & { numGpuBlocks: number }) {
  const s = new SchedulerV0({ ...base, ...options });
  const r = runnerFor(s);
  const step = () => {
    const so = s.schedule();
    const outs = s.updateFromOutput(so, r.execute(so)).toArray();
    return { so, outs };
  };
  return { s, r, step };
}

const sched = (so: SchedulerOutput) => Object.fromEntries(so.numScheduledTokens);
const ids = (xs: Iterable<string>) => [...xs];

describe('SchedulerV0, default policy', () => {
  it('runs prefill-only steps first, and decodes only when nothing is admitted', () => {
    const { s, step } = setup({ numGpuBlocks: 64 });
    s.addRequest(makeRequest('a', 10));
    s.addRequest(makeRequest('b', 10));
    let { so } = step();
    expect(sched(so)).toEqual({ a: 10, b: 10 });
    expect(so.scheduledNewReqs.map((r) => [r.reqId, r.blockIds])).toEqual([
      ['a', [1, 2, 3]],
      ['b', [4, 5, 6]],
    ]);
    ({ so } = step());
    expect(sched(so)).toEqual({ a: 1, b: 1 });
    s.addRequest(makeRequest('c', 6));
    ({ so } = step());
    expect(sched(so)).toEqual({ c: 6 }); // the decodes of a and b wait a step
    ({ so } = step());
    expect(ids(so.numScheduledTokens.keys())).toEqual(['a', 'b', 'c']);
    expect(so.scheduledCachedReqs.map((r) => [r.reqId, r.resumed, r.numComputedTokens])).toEqual([
      ['a', false, 11],
      ['b', false, 11],
      ['c', false, 6],
    ]);
  });

  it('admits prompts within the token budget and maxNumSeqs, in order', () => {
    const { s, step } = setup({ numGpuBlocks: 64, maxNumSeqs: 2 });
    for (const id of ['a', 'b', 'c']) s.addRequest(makeRequest(id, 30));
    expect(sched(step().so)).toEqual({ a: 30, b: 30 });
    const { s: s2, step: step2 } = setup({ numGpuBlocks: 64 });
    for (const id of ['a', 'b', 'c']) s2.addRequest(makeRequest(id, 30));
    expect(sched(step2().so)).toEqual({ a: 30, b: 30 }); // 90 tokens > 64
    expect(sched(step2().so)).toEqual({ c: 30 });
    void s;
  });

  it('refuses admission below the watermark and ignores prompts that can never fit', () => {
    // 10 usable blocks, watermark 1 block.
    const { s, step } = setup({ numGpuBlocks: 11, watermark: 0.1 });
    s.addRequest(makeRequest('a', 36, { maxTokens: 1 })); // 9 blocks: 10 - 9 >= 1
    s.addRequest(makeRequest('b', 1, { maxTokens: 1 })); // 1 more would leave 0 free
    s.addRequest(makeRequest('c', 40, { maxTokens: 1 })); // 10 blocks: never
    let { so, outs } = step();
    expect(sched(so)).toEqual({ a: 36 });
    expect(outs.map((o) => [o.reqId, o.finishReason])).toEqual([['a', 'length']]);
    ({ so, outs } = step());
    expect(sched(so)).toEqual({ b: 1 });
    // c reached the head once b was admitted and was found impossible.
    expect(outs.map((o) => [o.reqId, o.finishReason, o.newTokenIds])).toEqual([
      ['c', 'length', []],
      ['b', 'length', [expect.any(Number)]],
    ]);
    expect(s.hasUnfinishedRequests()).toBe(false);
  });

  it('marks prompts longer than the limit FINISHED_IGNORED, reported as length', () => {
    const { s, step } = setup({ numGpuBlocks: 64, maxModelLen: 16, maxNumBatchedTokens: 16 });
    s.addRequest(makeRequest('long', 17));
    s.addRequest(makeRequest('ok', 4, { maxTokens: 1 }));
    const { so, outs } = step();
    expect(sched(so)).toEqual({ ok: 4 });
    expect(outs.map((o) => [o.reqId, o.finishReason])).toEqual([
      ['long', 'length'],
      ['ok', 'length'],
    ]);
  });

  it('preempts the newest running request by recompute, and re-sends it whole at the head of waiting', () => {
    // 7 usable blocks: three 4-token prompts take 6 after their first decode, 9 at slot 8.
    const { s, step } = setup({ numGpuBlocks: 8 });
    for (const id of ['a', 'b', 'c']) s.addRequest(makeRequest(id, 4, { maxTokens: 8 }));
    expect(sched(step().so)).toEqual({ a: 4, b: 4, c: 4 });
    for (let i = 0; i < 4; i++) expect(sched(step().so)).toEqual({ a: 1, b: 1, c: 1 });
    // Slot 8: a takes the last free block; b cannot append, so c (the newest) gives its blocks up.
    const { so } = step();
    expect(ids(so.preemptedReqIds)).toEqual(['c']);
    expect(sched(so)).toEqual({ a: 1, b: 1 });
    expect(s.getStats()).toMatchObject({ numRunningReqs: 2, numWaitingReqs: 1, numPreemptions: 1 });
    expect(sched(step().so)).toEqual({ a: 1, b: 1 }); // c needs 3 blocks, 1 is free
    const last = step();
    expect(last.outs.map((o) => [o.reqId, o.finishReason])).toEqual([
      ['a', 'length'],
      ['b', 'length'],
    ]);
    const next = step();
    expect(next.so.scheduledNewReqs.map((r) => [r.reqId, r.outputTokenIds.length, r.numComputedTokens])).toEqual([['c', 5, 0]]);
    expect(sched(next.so)).toEqual({ c: 9 });
    expect(next.outs[0]!.events.map((e) => e.type)).toEqual(['preempted', 'scheduled']);
  });

  it('counts every touched block as new: a full pool preempts even when the next slot is in a partial block (V0)', () => {
    const { s, step } = setup({ numGpuBlocks: 7 });
    for (const id of ['a', 'b', 'c']) s.addRequest(makeRequest(id, 4, { maxTokens: 8 }));
    step();
    expect(sched(step().so)).toEqual({ a: 1, b: 1, c: 1 }); // 6 of 6 blocks held now
    const { so } = step(); // slot 5 fits in each second block, but no block is free
    expect(ids(so.preemptedReqIds)).toEqual(['c']);
    expect(sched(so)).toEqual({ a: 1, b: 1 });
  });

  it('swaps a preempted request out and back in, restoring its KV and tokens exactly', () => {
    const { s, r, step } = setup({ numGpuBlocks: 8, numCpuBlocks: 8, preemptionMode: 'swap' });
    for (const id of ['a', 'b', 'c']) s.addRequest(makeRequest(id, 4, { maxTokens: 8 }));
    const all = [];
    for (let i = 0; i < 5; i++) all.push(...step().outs);
    let next = step();
    all.push(...next.outs);
    expect(ids(next.so.preemptedReqIds)).toEqual(['c']);
    expect(next.so.kvCacheOps.swapOut).toEqual([
      [3, 1],
      [6, 2],
    ]);
    expect(s.getStats()).toMatchObject({ numSwappedReqs: 1, numRunningReqs: 2 });
    next = step(); // a and b decode; c waits for room (swapped groups block new admissions)
    all.push(...next.outs);
    expect(next.so.kvCacheOps.swapIn).toEqual([]);
    next = step(); // a and b finish
    all.push(...next.outs);
    next = step();
    all.push(...next.outs);
    // Freed tail first, a's and b's blocks queue as 7, 4, 1, 6, 5, 2 behind block 3.
    expect(next.so.kvCacheOps.swapIn).toEqual([
      [1, 3],
      [2, 7],
    ]);
    expect(next.so.scheduledCachedReqs.map((x) => [x.reqId, x.resumed, x.newBlockIds, x.numComputedTokens])).toEqual([['c', true, [3, 7, 4], 8]]);
    all.push(...runToCompletion(s, r));
    const got = tokensBySeq(all);
    for (const id of ['a', 'b', 'c']) {
      expect(got.get(id)).toEqual(referenceOutputs([100, 101, 102, 103], makeRequest(id, 4, { maxTokens: 8 }).samplingParams, id, 0, 64, 1000));
    }
    expect(s.bm.numFreeGpuBlocks).toBe(7);
    expect(s.bm.numFreeCpuBlocks).toBe(7);
  });

  it('holds new prompts for schedulerDelayFactor x the last prompt latency', () => {
    let now = 0;
    const { s, step } = setup({ numGpuBlocks: 64, schedulerDelayFactor: 0.5, clock: () => now });
    s.addRequest(makeRequest('a', 4, { maxTokens: 50 }, { arrivalTime: 0 }));
    expect(sched(step().so)).toEqual({ a: 4 }); // nothing running: no delay
    now = 1;
    s.addRequest(makeRequest('b', 4, {}, { arrivalTime: 1 }));
    expect(sched(step().so)).toEqual({ a: 1 }); // last prompt latency 1 s; b waited 0 s
    now = 1.4;
    expect(sched(step().so)).toEqual({ a: 1 }); // waited 0.4 s < 0.5 s
    now = 1.6;
    expect(sched(step().so)).toEqual({ b: 4 });
  });

  it('samples n=3 from one prefill: children fork copy-on-write and copy the shared last block on their first write', () => {
    const { s, r, step } = setup({ numGpuBlocks: 16 });
    s.addRequest(makeRequest('p', 6, { n: 3, seed: 5, maxTokens: 4 }));
    const c = [0, 1, 2].map((i) => childRequestId(requestId('p'), i));
    let { so, outs } = step();
    expect(sched(so)).toEqual({ [c[0]!]: 6, [c[1]!]: 0, [c[2]!]: 0 });
    expect(so.scheduledNewReqs.map((x) => [x.reqId, x.forkedFrom, x.blockIds, x.numComputedTokens, x.samplingParams.seed, x.samplingParams.n])).toEqual([
      [c[0], null, [1, 2], 0, 5, 1],
      [c[1], c[0], [1, 2], 6, 6, 1],
      [c[2], c[0], [1, 2], 6, 7, 1],
    ]);
    expect(outs.map((o) => o.reqId)).toEqual(c);
    const all = [...outs];
    ({ so, outs } = step());
    all.push(...outs);
    expect(so.kvCacheOps.copy).toEqual([
      [2, 3],
      [2, 4],
    ]);
    expect(so.scheduledCachedReqs.map((x) => [x.reqId, x.resumed, x.newBlockIds])).toEqual([
      [c[0], true, [1, 3]],
      [c[1], true, [1, 4]],
      [c[2], false, []],
    ]);
    all.push(...runToCompletion(s, r));
    const got = tokensBySeq(all);
    const params = makeRequest('p', 6, { n: 3, seed: 5, maxTokens: 4 }).samplingParams;
    const prompt = [100, 101, 102, 103, 104, 105];
    for (let i = 0; i < 3; i++) expect(got.get(c[i]!)).toEqual(referenceOutputs(prompt, { ...params, n: 1, seed: 5 + i }, c[i]!, 0, 64, 1000));
    expect(new Set(c.map((id) => got.get(id)!.join()))).toHaveProperty('size', 3);
    expect(s.bm.numFreeGpuBlocks).toBe(15);
  });

  it('preempts parallel-sampling groups by swap by default', () => {
    const { s, r, step } = setup({ numGpuBlocks: 10, numCpuBlocks: 16 });
    s.addRequest(makeRequest('p', 4, { n: 2, seed: 1, maxTokens: 12 }));
    s.addRequest(makeRequest('q', 4, { n: 2, seed: 2, maxTokens: 12 }));
    let swapped = false;
    const all = [];
    for (let i = 0; i < 200 && s.hasUnfinishedRequests(); i++) {
      const { so, outs } = step();
      all.push(...outs);
      if (so.kvCacheOps.swapOut.length > 0) swapped = true;
    }
    expect(swapped).toBe(true);
    expect(s.getStats().numPreemptions).toBeGreaterThan(0);
    expect(tokensBySeq(all).get(childRequestId(requestId('q'), 1))).toHaveLength(12);
    void r;
  });
});

describe('SchedulerV0, prefix caching', () => {
  it('serves computed prefix blocks to later requests, never to the same batch', () => {
    const { s, step } = setup({ numGpuBlocks: 32, enablePrefixCaching: true });
    const shared = [1, 2, 3, 4, 5, 6, 7, 8];
    s.addRequest(makeRequest('a', [...shared, 9, 10], { maxTokens: 3 }));
    s.addRequest(makeRequest('b', [...shared, 9, 10], { maxTokens: 3 })); // same batch as a: no hit
    let { so } = step();
    expect(so.scheduledNewReqs.map((r) => [r.reqId, r.blockIds, r.numComputedTokens])).toEqual([
      ['a', [1, 2, 3], 0],
      ['b', [1, 2, 4], 0],
    ]);
    expect(sched(so)).toEqual({ a: 10, b: 10 });
    s.addRequest(makeRequest('c', [...shared, 50, 51], { maxTokens: 3 }));
    let outs;
    ({ so, outs } = step());
    expect(so.scheduledNewReqs.map((r) => [r.reqId, r.blockIds, r.numComputedTokens])).toEqual([['c', [1, 2, 5], 8]]);
    expect(sched(so)).toEqual({ c: 2 });
    expect(outs.map((o) => [o.reqId, o.numCachedTokens])).toEqual([['c', 8]]);
    expect(s.getStats().prefixCache).toMatchObject({ queries: 30, hits: 8 });
    // Block level (V0's gauge): a 2 misses, b 2 hits (shared, not computed), c 2 hits.
    expect(s.prefixCacheHitRate).toBeCloseTo(4 / 6);
  });
});

describe('SchedulerV0, chunked prefill', () => {
  it('mixes decodes, ongoing prefill chunks and new prompts in one step, prefills first', () => {
    const { s, step } = setup({ numGpuBlocks: 64, enableChunkedPrefill: true, maxNumBatchedTokens: 16, maxNumSeqs: 4 });
    s.addRequest(makeRequest('a', 20));
    expect(sched(step().so)).toEqual({ a: 16 });
    s.addRequest(makeRequest('b', 20));
    let { so, outs } = step();
    expect(ids(so.numScheduledTokens.keys())).toEqual(['b', 'a']); // new prefill, then a's last chunk
    expect(sched(so)).toEqual({ a: 4, b: 12 });
    expect(outs.map((o) => o.reqId)).toEqual(['a']); // b's partial chunk emits nothing
    ({ so } = step());
    expect(ids(so.numScheduledTokens.keys())).toEqual(['b', 'a']);
    expect(sched(so)).toEqual({ a: 1, b: 8 });
    expect(so.totalNumScheduledTokens).toBe(9);
  });

  it('rounds partial chunks down to whole blocks with prefix caching', () => {
    const { s, step } = setup({ numGpuBlocks: 64, enableChunkedPrefill: true, enablePrefixCaching: true, maxNumBatchedTokens: 18, maxNumSeqs: 4 });
    s.addRequest(makeRequest('a', 30));
    expect(sched(step().so)).toEqual({ a: 16 });
    expect(sched(step().so)).toEqual({ a: 14 }); // the last chunk is not rounded
  });
});

describe('SchedulerV0, stop rules and aborts', () => {
  function scripted(tokens: number[], params: Parameters<typeof makeRequest>[2], extra = {}) {
    const s = new SchedulerV0({ ...base, numGpuBlocks: 64, maxModelLen: 16, maxNumBatchedTokens: 16 });
    s.addRequest(makeRequest('x', 10, params, { eosTokenId: 0, ...extra }));
    const out = [];
    for (const t of tokens) {
      const so = s.schedule();
      out.push(...s.updateFromOutput(so, { sampledTokenIds: new Map([[requestId('x'), [t]]]), logprobs: new Map(), promptLogprobs: new Map() }));
      if (!s.hasUnfinishedRequests()) break;
    }
    return out.map((o) => [o.newTokenIds[0], o.finishReason, o.stopReason]);
  }

  it('stops on EOS after minTokens, on stop token ids (as the stop reason), and at the length limits', () => {
    expect(scripted([0, 5, 0], { ignoreEos: false, minTokens: 2 })).toEqual([
      [0, null, null],
      [5, null, null],
      [0, 'stop', null],
    ]);
    expect(scripted([0, 7], { ignoreEos: true, stopTokenIds: [7] })).toEqual([
      [0, null, null],
      [7, 'stop', 7],
    ]);
    expect(scripted([1, 2, 3], { maxTokens: 2 })).toEqual([
      [1, null, null],
      [2, 'length', null],
    ]);
    // 10 prompt tokens, maxModelLen 16: six outputs at most.
    expect(scripted([1, 2, 3, 4, 5, 6, 7], { maxTokens: 100 }).at(-1)).toEqual([6, 'length', null]);
  });

  it('aborts a whole group or one parallel sample, freeing blocks and telling the runner', () => {
    const { s, step } = setup({ numGpuBlocks: 16 });
    s.addRequest(makeRequest('p', 6, { n: 3, maxTokens: 10 }));
    s.addRequest(makeRequest('q', 6));
    step();
    step();
    const c1 = childRequestId(requestId('p'), 1);
    s.finishRequests([c1], RequestStatus.FINISHED_ABORTED);
    let { so } = step();
    expect(ids(so.finishedReqIds)).toEqual([c1]);
    expect(so.numScheduledTokens.has(c1)).toBe(false);
    s.finishRequests([requestId('p'), requestId('nope')], RequestStatus.FINISHED_ABORTED);
    s.finishRequests([requestId('p')], RequestStatus.FINISHED_ABORTED);
    ({ so } = step());
    expect(ids(so.finishedReqIds).sort()).toEqual([childRequestId(requestId('p'), 0), childRequestId(requestId('p'), 2)]);
    expect(s.getNumUnfinishedRequests()).toBe(1);
    s.finishRequests(null, RequestStatus.FINISHED_ABORTED);
    expect(s.hasUnfinishedRequests()).toBe(false);
    expect(s.bm.numFreeGpuBlocks).toBe(15);
  });

  it('refuses duplicate ids, including a parallel sample colliding with a live request', () => {
    const s = new SchedulerV0({ ...base, numGpuBlocks: 16 });
    s.addRequest(makeRequest('0_p', 4));
    const code = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return VllmError.isInstance(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(() => s.addRequest(makeRequest('0_p', 4)))).toBe('duplicate_request_id');
    expect(code(() => s.addRequest(makeRequest('p', 4, { n: 2 })))).toBe('duplicate_request_id');
    expect(code(() => s.addRequest(makeRequest('e', [])))).toBe('invalid_prompt');
    expect(code(() => new SchedulerV0({ ...base, numGpuBlocks: 16, maxNumBatchedTokens: 32 }))).toBe('invalid_option');
    expect(code(() => new SchedulerV0({ ...base, numGpuBlocks: 16, blocksize: 4 } as never))).toBe('invalid_option');
  });
});

describe('SchedulerV0, priority policy', () => {
  it('preempts the lowest-priority running request when a more urgent one cannot be admitted', () => {
    const { s, step } = setup({ numGpuBlocks: 9, schedulingPolicy: 'priority' });
    s.addRequest(makeRequest('low', 16, { maxTokens: 20 }, { priority: 5 }));
    s.addRequest(makeRequest('mid', 8, { maxTokens: 20 }, { priority: 3 }));
    expect(sched(step().so)).toEqual({ mid: 8, low: 16 }); // priority order
    s.addRequest(makeRequest('high', 12, { maxTokens: 2 }, { priority: 0 }));
    let { so } = step();
    expect(ids(so.preemptedReqIds)).toEqual(['low']);
    expect(sched(so)).toEqual({ mid: 1 });
    ({ so } = step());
    expect(sched(so)).toEqual({ high: 12 });
  });
});
