import { cachedRequestColumnsOf, type KVCacheManager as KVCacheManagerContract, type SchedulerOutput } from '@vllm-ts/core';
import { KVCacheManager } from '@vllm-ts/prefix-cache';
import { request, ScriptedRunner, seededRandom } from '@vllm-ts/scheduler-conformance';
import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';

/** The same manager behind a plain object: not a prefix-cache `KVCacheManager`, so no fast path. */
function opaque(kv: KVCacheManager): KVCacheManagerContract {
  const wrapped: KVCacheManagerContract = {
    get blockSize() {
      return kv.blockSize;
    },
    get numBlocks() {
      return kv.numBlocks;
    },
    get numFreeBlocks() {
      return kv.numFreeBlocks;
    },
    get usage() {
      return kv.usage;
    },
    get prefixCacheStats() {
      return kv.prefixCacheStats;
    },
    getComputedBlocks: (r) => kv.getComputedBlocks(r),
    allocateSlots: (r, n, o) => kv.allocateSlots(r, n, o),
    free: (r) => kv.free(r),
    getBlockIds: (id) => kv.getBlockIds(id),
    resetPrefixCache: () => kv.resetPrefixCache(),
  };
  return wrapped;
}

/** What a step tells the runner, in a comparable form. */
function view(out: SchedulerOutput) {
  const cols = cachedRequestColumnsOf(out);
  return {
    scheduled: [...out.numScheduledTokens],
    cached: Array.from({ length: cols.length }, (_, i) => [cols.reqIds[i], cols.numComputedTokens[i]]),
    blocks: cols.blockEntries.map((e, k) => [e, [...cols.blockIds[k]!]]),
    fresh: out.scheduledNewReqs.map((r) => [r.reqId, [...r.blockIds], r.numComputedTokens]),
    preempted: [...out.preemptedReqIds],
    finished: [...out.finishedReqIds],
  };
}

describe('V1 Scheduler: the running pass decode fast path', () => {
  it.each([
    ['fcfs', false, 40],
    ['priority', false, 40],
    ['fcfs', true, 40],
    ['fcfs', false, 400],
  ] as const)('gives step for step the outputs of the general path (%s, async %s, %i blocks)', (policy, asyncScheduling, numBlocks) => {
    const make = (fast: boolean) => {
      const kv = new KVCacheManager({ numBlocks, blockSize: 4, maxModelLen: 96 });
      const s = new Scheduler({ maxModelLen: 96, maxNumBatchedTokens: 48, maxNumSeqs: 12, policy, asyncScheduling, hashSeed: 'f', kvCacheManager: fast ? kv : opaque(kv) });
      const runner = new ScriptedRunner({ numBlocks, blockSize: 4, script: (id, k) => (k * 7 + id.length) % 50 === 3 ? 2 : 100 + k });
      return { s, runner, inFlight: [] as { out: SchedulerOutput; ran: ReturnType<ScriptedRunner['execute']> }[] };
    };
    const a = make(true);
    const b = make(false);
    const rand = seededRandom(7);
    let next = 0;
    for (let stepNo = 0; stepNo < 400; stepNo++) {
      if (rand() < 0.3) {
        const len = 1 + Math.floor(rand() * 30);
        const prompt = Array.from({ length: len }, () => Math.floor(rand() * 8));
        const params = { maxTokens: 1 + Math.floor(rand() * 40) };
        const extra = { priority: Math.floor(rand() * 3), arrivalTime: stepNo };
        // EOS 2: the script emits it now and then, so requests also stop early.
        a.s.addRequest(request(`r${next}`, prompt, params, 2, extra));
        b.s.addRequest(request(`r${next}`, prompt, params, 2, extra));
        next++;
      }
      for (const x of [a, b]) {
        const out = x.s.schedule();
        x.inFlight.push({ out, ran: x.runner.execute(out) });
      }
      expect(view(a.inFlight.at(-1)!.out)).toEqual(view(b.inFlight.at(-1)!.out));
      // Async: keep one step in flight; sync: apply at once.
      while (a.inFlight.length > (asyncScheduling ? 1 : 0)) {
        const sa = a.inFlight.shift()!;
        const sb = b.inFlight.shift()!;
        const oa = [...a.s.updateFromOutput(sa.out, sa.ran)].map((o) => [o.reqId, [...o.newTokenIds], o.finishReason]);
        const ob = [...b.s.updateFromOutput(sb.out, sb.ran)].map((o) => [o.reqId, [...o.newTokenIds], o.finishReason]);
        expect(oa).toEqual(ob);
      }
    }
    expect(a.s.getStats()).toEqual(b.s.getStats());
    expect(next).toBeGreaterThan(80);
    // Tight memory: requests were preempted and resumed around the fast path's entries.
    if (numBlocks === 40) expect(a.s.getStats().numPreemptions).toBeGreaterThan(0);
  });
});
