import { requestId, RequestStatus, type ModelRunnerOutput, type SchedulerOutput } from '@vllm-ts/core';
import { KVCacheManager } from '@vllm-ts/prefix-cache';
import { request, runSimulation, ScriptedRunner, type SchedulerFactoryConfig, type SimulationOptions } from '@vllm-ts/scheduler-conformance';
import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';
import { conformanceScheduler } from './testing/conformance-scheduler.js';

const id = requestId;
const NUM_BLOCKS = 64;

interface Step {
  readonly out: SchedulerOutput;
  readonly ran: ModelRunnerOutput;
}

/**
 * An async scheduler (block size 4) and a scripted runner (k-th output: 100 + k). `schedule()` runs
 * the step at once, as a device stream would in submission order; `update()` applies a step's
 * output whenever the test says.
 */
function harness(options: { numGpuBlocks?: number; enablePrefixCaching?: boolean } = {}) {
  const numBlocks = options.numGpuBlocks ?? NUM_BLOCKS;
  const kv = new KVCacheManager({ numBlocks, blockSize: 4, maxModelLen: 64, enablePrefixCaching: options.enablePrefixCaching ?? true });
  const s = new Scheduler({ maxModelLen: 64, maxNumBatchedTokens: 64, kvCacheManager: kv, hashSeed: 's', asyncScheduling: true });
  const runner = new ScriptedRunner({ numBlocks, blockSize: 4, script: (_, k) => 100 + k });
  const schedule = (): Step & { tokens: Record<string, number> } => {
    const out = s.schedule();
    return { out, ran: runner.execute(out), tokens: Object.fromEntries(out.numScheduledTokens) };
  };
  const update = (step: Step): Record<string, { tokens: number[]; finish: string | null }> => {
    const rows: Record<string, { tokens: number[]; finish: string | null }> = {};
    for (const o of s.updateFromOutput(step.out, step.ran)) rows[o.reqId] = { tokens: [...o.newTokenIds], finish: o.finishReason };
    return rows;
  };
  return { s, kv, schedule, update, numUsable: numBlocks - 1 };
}

describe('V1 Scheduler, async scheduling: placeholders', () => {
  it('schedules a decoding request again before its first output arrives, with a block for the placeholder position', () => {
    const { s, kv, schedule, update } = harness();
    s.addRequest(request('a', [1, 2, 3, 4], { maxTokens: 10 }));
    const s1 = schedule();
    expect(s1.tokens).toEqual({ a: 4 });
    expect(s1.out.scheduledNewReqs[0]).toMatchObject({ reqId: 'a', blockIds: [1], numComputedTokens: 0 });
    // Position 4 holds the token step 1 samples: still unknown, yet computed by step 2 in block 2.
    const s2 = schedule();
    expect(s2.tokens).toEqual({ a: 1 });
    expect(s2.out.scheduledCachedReqs).toEqual([{ reqId: 'a', resumed: false, newBlockIds: [2], numComputedTokens: 4, allTokenIds: null }]);
    expect(kv.getBlockIds(id('a'))).toEqual([1, 2]);
    expect(update(s1)).toEqual({ a: { tokens: [100], finish: null } });
    const s3 = schedule();
    expect(s3.tokens).toEqual({ a: 1 });
    expect(s3.out.scheduledCachedReqs[0]).toMatchObject({ numComputedTokens: 5, newBlockIds: [] });
    expect(update(s2)).toEqual({ a: { tokens: [101], finish: null } });
    expect(update(s3)).toEqual({ a: { tokens: [102], finish: null } });
    expect(s.getStats()).toMatchObject({ numRunningReqs: 1, numWaitingReqs: 0 });
  });

  it('schedules no extra step once the in-flight tokens are certain to reach maxTokens', () => {
    const { s, kv, schedule, update, numUsable } = harness();
    s.addRequest(request('a', [1, 2, 3, 4], { maxTokens: 3 }));
    const s1 = schedule();
    const s2 = schedule();
    expect(update(s1)).toEqual({ a: { tokens: [100], finish: null } });
    const s3 = schedule(); // 1 known + 1 in flight: the third output is still to come
    expect(s3.tokens).toEqual({ a: 1 });
    expect(update(s2)).toEqual({ a: { tokens: [101], finish: null } });
    const s4 = schedule(); // 2 known + 1 in flight = maxTokens
    expect(s4.tokens).toEqual({});
    expect(s4.out.totalNumScheduledTokens).toBe(0);
    expect(update(s3)).toEqual({ a: { tokens: [102], finish: 'length' } });
    expect(update(s4)).toEqual({});
    expect(kv.numFreeBlocks).toBe(numUsable);
    expect([...schedule().out.finishedReqIds]).toEqual(['a']);
    expect(s.hasUnfinishedRequests()).toBe(false);
  });

  it('drops the in-flight token of a request that stopped on EOS and frees its blocks once', () => {
    const { s, kv, schedule, update, numUsable } = harness();
    s.addRequest(request('a', [1, 2, 3, 4], { maxTokens: 10 }, 101));
    s.addRequest(request('b', [5, 6, 7, 8], { maxTokens: 10 }));
    const s1 = schedule();
    const s2 = schedule();
    expect(update(s1)).toEqual({ a: { tokens: [100], finish: null }, b: { tokens: [100], finish: null } });
    const s3 = schedule();
    expect(s3.tokens).toEqual({ a: 1, b: 1 });
    expect(update(s2)).toEqual({ a: { tokens: [101], finish: 'stop' }, b: { tokens: [101], finish: null } });
    // a's blocks are free already, though step 3 (submitted) still writes a's KV into one of them.
    expect(kv.getBlockIds(id('a'))).toEqual([]);
    expect(kv.numFreeBlocks).toBe(numUsable - 2);
    expect(update(s3)).toEqual({ b: { tokens: [102], finish: null } });
    expect(kv.numFreeBlocks).toBe(numUsable - 2);
    const s4 = schedule();
    expect([...s4.out.finishedReqIds]).toEqual(['a']);
    expect(s4.tokens).toEqual({ b: 1 });
    s.finishRequests(null, RequestStatus.FINISHED_ABORTED);
    expect(update(s4)).toEqual({});
    expect(kv.numFreeBlocks).toBe(numUsable);
  });

  it('drops the later outputs of a request aborted with two steps in flight, leaking nothing', () => {
    const { s, kv, schedule, update, numUsable } = harness();
    s.addRequest(request('a', [1, 2, 3, 4], { maxTokens: 10 }));
    const s1 = schedule();
    const s2 = schedule();
    s.finishRequests([id('a')], RequestStatus.FINISHED_ABORTED);
    expect(kv.numFreeBlocks).toBe(numUsable);
    expect(update(s1)).toEqual({});
    expect(update(s2)).toEqual({});
    const s3 = schedule();
    expect([...s3.out.finishedReqIds]).toEqual(['a']);
    expect(s3.out.totalNumScheduledTokens).toBe(0);
    expect(kv.numFreeBlocks).toBe(numUsable);
    expect(s.hasUnfinishedRequests()).toBe(false);
  });

  it('preempts a request with a token in flight, appends that token while it waits, and never admits it before', () => {
    // 3 usable blocks: a and b take one each for their prompts; a's decode takes the last.
    const { s, kv, schedule, update, numUsable } = harness({ numGpuBlocks: 4, enablePrefixCaching: false });
    s.addRequest(request('a', [1, 2, 3, 4], { maxTokens: 10 }));
    s.addRequest(request('b', [5, 6, 7, 8], { maxTokens: 3 }));
    const s1 = schedule();
    expect(s1.tokens).toEqual({ a: 4, b: 4 });
    const s2 = schedule();
    expect(s2.tokens).toEqual({ a: 1 });
    expect([...s2.out.preemptedReqIds]).toEqual(['b']);
    expect(s.getWaitingIds()).toEqual(['b']);
    // Memory frees up, but b's first output is still in flight (a third step goes out first).
    s.finishRequests([id('a')], RequestStatus.FINISHED_ABORTED);
    expect(kv.numFreeBlocks).toBe(numUsable);
    const s3 = schedule();
    expect(s3.tokens).toEqual({});
    expect(update(s1)).toEqual({ b: { tokens: [100], finish: null } });
    expect(update(s2)).toEqual({});
    const s4 = schedule();
    // Recomputes the prompt and every output, the token that was in flight included.
    expect(s4.tokens).toEqual({ b: 5 });
    // Free queue: b's block 2 (preempted), then a's blocks tail first (3, 1).
    expect(s4.out.scheduledCachedReqs).toEqual([{ reqId: 'b', resumed: true, newBlockIds: [2, 3], numComputedTokens: 0, allTokenIds: [5, 6, 7, 8, 100] }]);
    expect(update(s3)).toEqual({});
    const s5 = schedule();
    expect(s5.tokens).toEqual({ b: 1 });
    expect(update(s4)).toEqual({ b: { tokens: [101], finish: null } });
    expect(schedule().tokens).toEqual({}); // 2 known + 1 in flight = maxTokens
    expect(update(s5)).toEqual({ b: { tokens: [102], finish: 'length' } });
    expect(kv.numFreeBlocks).toBe(numUsable);
    expect(s.getStats().numPreemptions).toBe(1);
  });

  it('finishes a preempted request whose in-flight token is EOS, out of the waiting queue', () => {
    const { s, kv, schedule, update, numUsable } = harness({ numGpuBlocks: 4 });
    s.addRequest(request('a', [1, 2, 3, 4], { maxTokens: 10 }));
    s.addRequest(request('b', [5, 6, 7, 8], { maxTokens: 10 }, 100));
    const s1 = schedule();
    const s2 = schedule();
    expect([...s2.out.preemptedReqIds]).toEqual(['b']);
    expect(update(s1)).toEqual({ a: { tokens: [100], finish: null }, b: { tokens: [100], finish: 'stop' } });
    expect(s.getWaitingIds()).toEqual([]);
    expect(s.getStats()).toMatchObject({ numRunningReqs: 1, numWaitingReqs: 0 });
    expect(update(s2)).toEqual({ a: { tokens: [101], finish: null } });
    s.finishRequests(null, RequestStatus.FINISHED_ABORTED);
    expect(kv.numFreeBlocks).toBe(numUsable);
  });

  it('never caches a block holding a placeholder position', () => {
    const { s, kv, schedule, update } = harness();
    s.addRequest(request('a', [1, 2, 3], { maxTokens: 10 }));
    const s1 = schedule();
    // Step 2 computes position 3, which fills block 1 with three known tokens and a placeholder.
    const s2 = schedule();
    expect(s2.tokens).toEqual({ a: 1 });
    expect(kv.getNumCachedBlocks(id('a'))).toBe(0);
    s.addRequest(request('b', [1, 2, 3, 100, 9], { maxTokens: 1 }));
    update(s1);
    const s3 = schedule(); // a's block is full of known tokens now: cached before b's lookup
    expect(kv.getNumCachedBlocks(id('a'))).toBe(1);
    expect(s3.tokens).toEqual({ a: 1, b: 1 });
    expect(s3.out.scheduledNewReqs[0]).toMatchObject({ reqId: 'b', numComputedTokens: 4, blockIds: [1, 3] });
    expect(kv.prefixCacheStats).toMatchObject({ queries: 8, hits: 4 });
    update(s2);
    update(s3);
  });
});

describe('V1 Scheduler, async scheduling: contract', () => {
  it('refuses drafts and a non-boolean option', () => {
    const { s, schedule, update } = harness();
    s.addRequest(request('a', [1, 2, 3, 4]));
    update(schedule());
    expect(() => s.updateDraftTokenIds(new Map([[id('a'), [7, 8]]]))).toThrow(
      expect.objectContaining({ code: 'unsupported_with_async_scheduling', message: expect.stringMatching(/not supported together with asyncScheduling/) }),
    );
    s.updateDraftTokenIds(new Map()); // nothing proposed: nothing to refuse
    expect(() => new Scheduler({ maxModelLen: 8, numGpuBlocks: 8, asyncScheduling: 'yes' as never })).toThrow(/asyncScheduling must be a boolean/);
  });

  it('refuses an output with no token for a step that samples', () => {
    const { s, schedule } = harness();
    s.addRequest(request('a', [1, 2, 3, 4]));
    const { out } = schedule();
    expect(() => s.updateFromOutput(out, { sampledTokenIds: new Map(), logprobs: new Map(), promptLogprobs: new Map() })).toThrow(
      expect.objectContaining({ code: 'invalid_runner_output' }),
    );
  });
});

describe('V1 Scheduler, async scheduling: simulation with steps in flight', () => {
  const create = (asyncScheduling: boolean) => (c: SchedulerFactoryConfig) => conformanceScheduler(c, { asyncScheduling });

  const cases: [string, SimulationOptions][] = [
    ['roomy memory', { numRequests: 1200, seed: 11, config: { numGpuBlocks: 256 } }],
    ['tight memory, long prompts', { numRequests: 1200, seed: 12, arrivalsPerStep: 2, promptLen: [1, 100], config: { numGpuBlocks: 40 } }],
    ['priority policy, tight memory', { numRequests: 1200, seed: 13, arrivalsPerStep: 2, config: { numGpuBlocks: 40, policy: 'priority' } }],
    ['chunked prompts under a small budget and a threshold', { numRequests: 600, seed: 14, promptLen: [20, 120], config: { maxNumBatchedTokens: 32, longPrefillTokenThreshold: 12, numGpuBlocks: 96 } }],
  ];

  it.each(cases)('%s: depth 2 gives every request the tokens the synchronous run gives it', (_, options) => {
    const sync = runSimulation(create(false), options);
    const pipelined = runSimulation(create(true), { ...options, pipelineDepth: 2 });
    // Both runs checked every request against the script; the finished ones must also agree (aborts
    // hit different requests: which ones are live at an abort depends on the schedule).
    let common = 0;
    for (const [reqId, tokens] of pipelined.finishedTokens) {
      const other = sync.finishedTokens.get(reqId);
      if (other === undefined) continue;
      common++;
      expect(tokens, reqId).toEqual(other);
    }
    expect(common).toBeGreaterThan(options.numRequests * 0.7);
    expect(pipelined.numFinished + pipelined.numAborted).toBe(options.numRequests);
    if (options.config?.numGpuBlocks === 40) expect(pipelined.numPreemptions).toBeGreaterThan(0);
  });

  it('depth 3 under tight memory: exact outputs, no leak, no starvation', () => {
    const r = runSimulation(create(true), { numRequests: 800, seed: 15, arrivalsPerStep: 2, promptLen: [1, 60], config: { numGpuBlocks: 40 }, pipelineDepth: 3 });
    expect(r.numFinished + r.numAborted).toBe(800);
    expect(r.numPreemptions).toBeGreaterThan(0);
  });
});
