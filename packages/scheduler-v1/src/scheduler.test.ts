import { requestId, RequestStatus, type EngineCoreOutput, type RequestId, type SchedulerOutput } from '@vllm-ts/core';
import { request, ScriptedRunner } from '@vllm-ts/scheduler-conformance';
import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';
import type { SchedulerOptions } from './scheduler-config.js';

const id = requestId;

/** A scheduler and a scripted runner (k-th output of every request: 100 + k) stepped together. */
function harness(options: Partial<SchedulerOptions> = {}) {
  const opts = { maxModelLen: 128, maxNumBatchedTokens: 64, numGpuBlocks: 64, blockSize: 4, hashSeed: 's', ...options };
  const s = new Scheduler(opts);
  const runner = new ScriptedRunner({ numBlocks: opts.numGpuBlocks, blockSize: opts.blockSize, script: (_, k) => 100 + k });
  const step = (): { out: SchedulerOutput; outputs: EngineCoreOutput[]; tokens: Record<string, number> } => {
    const out = s.schedule();
    const outputs = s.updateFromOutput(out, runner.execute(out)).toArray();
    return { out, outputs, tokens: Object.fromEntries(out.numScheduledTokens) };
  };
  return { s, step, runner };
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('V1 Scheduler: budget and chunked prefill', () => {
  it('splits the budget: running decodes first, then a long prefill in chunks that continue next step', () => {
    const { s, step } = harness({ maxNumBatchedTokens: 16 });
    s.addRequest(request('a', [1, 2, 3], { maxTokens: 20 }));
    s.addRequest(request('b', [4, 5, 6], { maxTokens: 20 }));
    expect(step().tokens).toEqual({ a: 3, b: 3 });
    s.addRequest(request('c', range(10, 50), { maxTokens: 20 }));
    const s2 = step();
    expect(s2.tokens).toEqual({ a: 1, b: 1, c: 14 });
    expect(s2.out.scheduledNewReqs.map((r) => [r.reqId, r.numComputedTokens, r.blockIds])).toEqual([['c', 0, [3, 4, 5, 6]]]);
    expect(s2.outputs.map((o) => o.reqId)).toEqual(['a', 'b', 'c']); // c: its 'scheduled' event only
    expect(s2.outputs[2]!.newTokenIds).toEqual([]);
    const s3 = step();
    expect(s3.tokens).toEqual({ a: 1, b: 1, c: 14 });
    expect(s3.out.scheduledCachedReqs.find((r) => r.reqId === 'c')).toEqual({
      reqId: 'c',
      resumed: false,
      newBlockIds: [9, 10, 11], // a and b took 7 and 8 when their decodes crossed a block
      numComputedTokens: 14,
      allTokenIds: null,
    });
    expect(s3.outputs.map((o) => o.reqId)).toEqual(['a', 'b']); // a partial prefill emits nothing
    const s4 = step();
    expect(s4.tokens).toEqual({ a: 1, b: 1, c: 12 });
    expect(s4.outputs.find((o) => o.reqId === 'c')!.newTokenIds).toEqual([100]);
    expect(step().tokens).toEqual({ a: 1, b: 1, c: 1 });
  });

  it('caps every request at longPrefillTokenThreshold, running or waiting', () => {
    const { s, step } = harness({ longPrefillTokenThreshold: 8 });
    s.addRequest(request('a', range(0, 20)));
    s.addRequest(request('b', range(50, 55)));
    expect(step().tokens).toEqual({ a: 8, b: 5 });
    expect(step().tokens).toEqual({ a: 8, b: 1 });
    expect(step().tokens).toEqual({ a: 4, b: 1 });
    expect(step().tokens).toEqual({ a: 1, b: 1 });
  });

  it('stops admitting at maxNumSeqs and when the budget runs out', () => {
    const { s, step } = harness({ maxNumSeqs: 2, maxNumBatchedTokens: 10 });
    for (const r of ['a', 'b', 'c']) s.addRequest(request(r, [1, 2, 3, 4]));
    const first = step();
    expect(first.tokens).toEqual({ a: 4, b: 4 });
    expect(s.getWaitingIds()).toEqual(['c']);
    expect(s.getStats()).toMatchObject({ numRunningReqs: 2, numWaitingReqs: 1 });
  });
});

describe('V1 Scheduler: prefix caching', () => {
  it('admits a request with a prefix hit for fewer new tokens and reports its cached tokens', () => {
    const { s, step } = harness();
    s.addRequest(request('a', range(0, 12), { maxTokens: 1 }));
    step();
    s.addRequest(request('b', [...range(0, 12), 77, 78], { maxTokens: 1 }));
    const st = step();
    expect(st.tokens).toEqual({ b: 2 });
    expect(st.out.scheduledNewReqs[0]).toMatchObject({ reqId: 'b', numComputedTokens: 12, blockIds: [1, 2, 3, 4] });
    expect(st.outputs[0]).toMatchObject({ reqId: 'b', numCachedTokens: 12, finishReason: 'length' });
    expect(s.getStats().prefixCache).toEqual({ queries: 26, hits: 12, preemptedQueries: 0, preemptedHits: 0, resets: 0 });
  });

  it('a fully cached prompt of whole blocks recomputes its last block', () => {
    const { s, step } = harness();
    s.addRequest(request('a', range(0, 8), { maxTokens: 1 }));
    step();
    s.addRequest(request('b', range(0, 8), { maxTokens: 1 }));
    expect(step().tokens).toEqual({ b: 4 });
  });

  it('keeps tenants with different cache salts apart', () => {
    const { s, step } = harness();
    s.addRequest({ ...request('a', range(0, 9), { maxTokens: 1 }), cacheSalt: 'x' });
    step();
    s.addRequest({ ...request('b', range(0, 9), { maxTokens: 1 }), cacheSalt: 'y' });
    expect(step().tokens).toEqual({ b: 9 });
  });
});

describe('V1 Scheduler: preemption', () => {
  // 7 blocks = null + 6 usable; each request fills 2 blocks with 7 prompt tokens + 1 output.
  const tight = { numGpuBlocks: 7, enablePrefixCaching: false } as const;

  it('FCFS: preempts the last admitted, admits nobody in that step, resumes it with its outputs', () => {
    const { s, step } = harness(tight);
    s.addRequest(request('a', range(0, 7), { maxTokens: 20 }));
    s.addRequest(request('b', range(10, 17), { maxTokens: 20 }));
    s.addRequest(request('c', range(20, 27), { maxTokens: 20 }));
    expect(step().tokens).toEqual({ a: 7, b: 7, c: 7 });
    expect(step().tokens).toEqual({ a: 1, b: 1, c: 1 }); // slot 7 still in block 2
    s.addRequest(request('d', [1]));
    const st = step(); // a needs a third block: c goes
    expect([...st.out.preemptedReqIds]).toEqual(['c']);
    expect(st.tokens).toEqual({ a: 1, b: 1 });
    expect(s.getWaitingIds()).toEqual(['c', 'd']);
    expect(s.getStats().numPreemptions).toBe(1);
    expect(step().tokens).toEqual({ a: 1, b: 1 }); // no room for c yet
    s.finishRequests([id('a')], RequestStatus.FINISHED_ABORTED);
    const resumed = step();
    expect(resumed.tokens).toEqual({ b: 1, c: 9 });
    expect(resumed.out.scheduledCachedReqs.find((r) => r.reqId === 'c')).toMatchObject({
      resumed: true,
      numComputedTokens: 0,
      allTokenIds: [...range(20, 27), 100, 101],
    });
    expect(resumed.outputs.find((o) => o.reqId === 'c')!.newTokenIds).toEqual([102]);
  });

  it('priority: preempts the lowest priority (largest value), then the latest arrival', () => {
    const { s, step } = harness({ ...tight, policy: 'priority' });
    s.addRequest(request('a', range(0, 7), { maxTokens: 20 }, null, { priority: 0, arrivalTime: 0 }));
    s.addRequest(request('b', range(10, 17), { maxTokens: 20 }, null, { priority: 2, arrivalTime: 1 }));
    s.addRequest(request('c', range(20, 27), { maxTokens: 20 }, null, { priority: 1, arrivalTime: 2 }));
    step();
    step();
    const st = step();
    expect([...st.out.preemptedReqIds]).toEqual(['b']);
    expect(st.tokens).toEqual({ a: 1, c: 1 });
    expect(s.getRunningIds()).toEqual(['a', 'c']);
  });

  it('priority: a victim already scheduled in this step gives its tokens back', () => {
    const { s, step } = harness({ numGpuBlocks: 5, enablePrefixCaching: false, policy: 'priority' });
    s.addRequest(request('a', range(0, 5), { maxTokens: 20 }, null, { priority: 5, arrivalTime: 0 })); // stays in 2 blocks
    s.addRequest(request('b', range(10, 17), { maxTokens: 20 }, null, { priority: 0, arrivalTime: 1 })); // needs a 3rd at step 3
    step();
    step();
    s.addRequest(request('c', [1], {}, null, { priority: 0, arrivalTime: 2 }));
    const st = step(); // a is scheduled first, then b's allocation fails and a is the victim
    expect([...st.out.preemptedReqIds]).toEqual(['a']);
    expect(st.tokens).toEqual({ b: 1 });
    expect(st.out.totalNumScheduledTokens).toBe(1);
    expect(st.out.scheduledCachedReqs.map((r) => r.reqId)).toEqual(['b']);
    // The columns behind it: a's entry was taken back, b's (with its third block) is entry 0.
    const cols = st.out.cachedReqColumns!;
    expect([cols.length, cols.reqIds[0], cols.numComputedTokens[0], cols.blockEntries, cols.resumedEntries]).toEqual([1, 'b', 8, [0], []]);
    expect(s.getRunningIds()).toEqual(['b']);
    expect(s.getWaitingIds()).toEqual(['c', 'a']); // priority order; the preempted request gets no boost
  });

  it('a resumed request hits its own cached blocks; the lookup counts as preempted', () => {
    const { s, step } = harness({ numGpuBlocks: 7 });
    s.addRequest(request('a', range(0, 7), { maxTokens: 20 })); // blocks 1, 2
    s.addRequest(request('b', range(10, 16), { maxTokens: 20 })); // blocks 3, 4; needs no third block yet
    s.addRequest(request('c', range(20, 27), { maxTokens: 20 })); // blocks 5, 6, both cached after step 2
    step();
    step();
    const st3 = step(); // a needs a block: c is preempted, frees 6 then 5; a takes 6, 5 stays cached
    expect([...st3.out.preemptedReqIds]).toEqual(['c']);
    expect(s.kvCacheManager.getBlockIds(id('a'))).toEqual([1, 2, 6]);
    s.finishRequests([id('b')], RequestStatus.FINISHED_ABORTED);
    const st = step();
    const c = st.out.scheduledCachedReqs.find((r) => r.reqId === 'c')!;
    expect(c.resumed).toBe(true);
    expect(c.numComputedTokens).toBe(4);
    expect(st.tokens.c).toBe(5);
    expect(s.getStats().prefixCache).toMatchObject({ preemptedQueries: 9, preemptedHits: 4 });
  });
});

describe('V1 Scheduler: stop conditions', () => {
  const run = (params: object, eos: number | null, script: (k: number) => number, maxModelLen = 128) => {
    const s = new Scheduler({ maxModelLen, numGpuBlocks: 64, blockSize: 4 });
    const runner = new ScriptedRunner({ numBlocks: 64, blockSize: 4, script: (_, k) => script(k) });
    s.addRequest(request('a', [1, 2, 3], params, eos));
    const got: number[] = [];
    for (;;) {
      const out = s.schedule();
      const [o] = s.updateFromOutput(out, runner.execute(out));
      got.push(...o!.newTokenIds);
      if (o!.finishReason !== null) return { got, reason: o!.finishReason, stopReason: o!.stopReason, left: s.hasUnfinishedRequests() };
    }
  };

  it('checks min tokens, EOS, stop tokens, then length, in that order', () => {
    // A token that is both EOS and a stop token ends as EOS (no stop reason).
    expect(run({ stopTokenIds: [7] }, 7, () => 7)).toEqual({ got: [7], reason: 'stop', stopReason: null, left: false });
    expect(run({ stopTokenIds: [7] }, 9, () => 7)).toEqual({ got: [7], reason: 'stop', stopReason: 7, left: false });
    // A stop token on the last allowed token is a stop, not a length.
    expect(run({ stopTokenIds: [7], maxTokens: 1 }, null, () => 7).reason).toBe('stop');
    expect(run({ minTokens: 3, maxTokens: 5 }, 7, () => 7)).toMatchObject({ got: [7, 7, 7], reason: 'stop' });
    expect(run({ ignoreEos: true, maxTokens: 4 }, 7, () => 7)).toMatchObject({ got: [7, 7, 7, 7], reason: 'length' });
    expect(run({ maxTokens: 100 }, null, (k) => k, 10)).toMatchObject({ got: range(0, 7), reason: 'length' });
  });
});

describe('V1 Scheduler: speculative decoding', () => {
  function specHarness() {
    const h = harness();
    h.s.addRequest(request('a', [1, 2, 3], { maxTokens: 50 }));
    h.step(); // prefill: sampled 100
    return h;
  }
  const drafts = (ds: number[]): Map<RequestId, number[]> => new Map([[id('a'), ds]]);

  it('full acceptance: drafts + bonus token, computed count stays', () => {
    const { s, step } = specHarness();
    s.updateDraftTokenIds(drafts([101, 102, 103]));
    const st = step();
    expect(st.tokens).toEqual({ a: 4 });
    expect(st.out.scheduledSpecDecodeTokens.get(id('a'))).toEqual([101, 102, 103]);
    expect(st.outputs[0]!.newTokenIds).toEqual([101, 102, 103, 104]);
    expect(step().out.scheduledCachedReqs[0]!.numComputedTokens).toBe(7);
    expect(s.getStats().specDecoding).toEqual({ numDrafts: 1, numDraftTokens: 3, numAcceptedTokens: 3, numAcceptedTokensPerPos: [1, 1, 1] });
  });

  it('partial and zero acceptance correct numComputedTokens down', () => {
    const { s, step } = specHarness();
    s.updateDraftTokenIds(drafts([101, 999, 103]));
    expect(step().outputs[0]!.newTokenIds).toEqual([101, 102]);
    // 4 computed, then 4 scheduled, 2 rejected: 6 = tokens so far (3 prompt + 3 outputs) - 1.
    s.updateDraftTokenIds(drafts([5, 5]));
    const st = step();
    expect(st.out.scheduledCachedReqs[0]!.numComputedTokens).toBe(5);
    expect(st.outputs[0]!.newTokenIds).toEqual([103]);
    expect(step().out.scheduledCachedReqs[0]!.numComputedTokens).toBe(6);
    expect(s.getStats().specDecoding).toEqual({ numDrafts: 2, numDraftTokens: 5, numAcceptedTokens: 1, numAcceptedTokensPerPos: [1, 0, 0] });
  });

  it('truncates a multi-token step at max tokens and ignores drafts of a prefilling request', () => {
    const h = harness({ maxNumBatchedTokens: 4 });
    h.s.addRequest(request('a', [1, 2, 3], { maxTokens: 2 }));
    h.s.addRequest(request('p', range(0, 20)));
    h.step(); // a prefilled (3), p got 1 token
    h.s.updateDraftTokenIds(new Map([[id('a'), [101, 102, 103]], [id('p'), [1, 2]]]));
    const st = h.step();
    expect(st.tokens).toEqual({ a: 4 }); // the budget is spent on a
    expect(st.out.scheduledSpecDecodeTokens.has(id('p'))).toBe(false);
    expect(st.outputs[0]).toMatchObject({ reqId: 'a', newTokenIds: [101], finishReason: 'length' });
  });
});

describe('V1 Scheduler: lookahead slots and lifecycle events', () => {
  it('allocates lookahead slots for running requests only, and reports queued/scheduled events once', () => {
    let now = 100;
    const { s, step } = harness({ numLookaheadTokens: 4, numGpuBlocks: 7, enablePrefixCaching: false, clock: () => now });
    s.addRequest(request('a', [1, 2, 3], { maxTokens: 20 }));
    now = 101;
    const first = step();
    expect(first.out.scheduledNewReqs[0]!.blockIds).toEqual([1]); // admission takes no lookahead
    expect(first.outputs[0]!.events).toEqual([
      { type: 'queued', timestamp: 100 },
      { type: 'scheduled', timestamp: 101 },
    ]);
    // Running: 3 computed + 1 new + 4 lookahead = 8 slots = 2 blocks; then 9 slots = 3 blocks.
    expect(step().out.scheduledCachedReqs[0]!.newBlockIds).toEqual([2]);
    const third = step();
    expect(third.out.scheduledCachedReqs[0]!.newBlockIds).toEqual([3]);
    expect(third.outputs[0]!.events).toEqual([]);
  });
});

describe('V1 Scheduler: misuse', () => {
  it('refuses n > 1, empty or too long prompts, and unknown options', () => {
    const s = new Scheduler({ maxModelLen: 8, numGpuBlocks: 8 });
    expect(() => s.addRequest(request('a', [1], { n: 2 }))).toThrow(/samplingParams.n must be 1 under V1 \(the front end fans n > 1 out/);
    expect(() => s.addRequest(request('a', []))).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => s.addRequest(request('a', range(0, 8)))).toThrow(expect.objectContaining({ code: 'prompt_too_long' }));
    expect(() => new Scheduler({ maxModelLen: 8, numGpuBlocks: 8, maxNumSeq: 3 } as never)).toThrow(/Did you mean "maxNumSeqs"\?/);
    expect(() => new Scheduler({ maxModelLen: 8 })).toThrow(/numGpuBlocks must be an integer >= 2/);
    expect(() => s.finishRequests(null, RequestStatus.RUNNING as never)).toThrow(/a finished RequestStatus/);
  });

  it('refuses runner output that samples during a prefill chunk', () => {
    const s = new Scheduler({ maxModelLen: 64, numGpuBlocks: 16, maxNumBatchedTokens: 4 });
    s.addRequest(request('a', range(0, 10)));
    const out = s.schedule();
    expect(() => s.updateFromOutput(out, { sampledTokenIds: new Map([[id('a'), [1]]]), logprobs: new Map(), promptLogprobs: new Map() })).toThrow(
      expect.objectContaining({ code: 'invalid_runner_output' }),
    );
  });
});

describe('V1 Scheduler: the step output object', () => {
  it('has scheduledCachedReqs as an own enumerable property: spreads and clones carry it; reads return one array', () => {
    const { s, step } = harness();
    s.addRequest(request('a', [1, 2, 3], { maxTokens: 5 }));
    step();
    const { out } = step();
    const want = [{ reqId: 'a', resumed: false, newBlockIds: [], numComputedTokens: 3, allTokenIds: null }];
    expect(Object.keys(out)).toContain('scheduledCachedReqs');
    expect({ ...out }.scheduledCachedReqs).toEqual(want);
    expect(structuredClone({ ...out, numScheduledTokens: new Map(out.numScheduledTokens) }).scheduledCachedReqs).toEqual(want);
    expect(out.scheduledCachedReqs).toBe(out.scheduledCachedReqs);
  });
});
