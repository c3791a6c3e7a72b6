import { RequestStatus, childRequestId, requestId, type EngineCoreOutput, type EngineCoreRequest } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvSimulatingRunner, referenceOutputs } from './internal/kv-simulating-runner.js';
import { makeRequest, tokensBySeq } from './internal/test-helpers.js';
import { SchedulerV0 } from './scheduler-v0.js';

const BLOCK = 4;
const MAX_LEN = 32;
const VOCAB = 50; // small, so EOS (0) and stop tokens come up

const configArb = fc.record({
  enableChunkedPrefill: fc.boolean(),
  enablePrefixCaching: fc.boolean(),
  preemptionMode: fc.constantFrom(undefined, 'recompute' as const, 'swap' as const),
  numGpuBlocks: fc.integer({ min: 3 * (MAX_LEN / BLOCK) + 2, max: 60 }),
  numCpuBlocks: fc.constantFrom(0, 12, 64),
  maxNumSeqs: fc.integer({ min: 1, max: 8 }),
  maxNumBatchedTokens: fc.integer({ min: 8, max: 48 }),
  schedulingPolicy: fc.constantFrom('fcfs' as const, 'priority' as const),
  schedulerDelayFactor: fc.constantFrom(0, 0, 0.5),
});

const requestArb = fc.record({
  // Prompts drawn from a few shared prefixes so prefix caching finds hits.
  prefix: fc.integer({ min: 0, max: 2 }),
  prefixLen: fc.integer({ min: 0, max: 12 }),
  tailLen: fc.integer({ min: 1, max: 10 }),
  maxTokens: fc.integer({ min: 1, max: 10 }),
  minTokens: fc.integer({ min: 0, max: 3 }),
  n: fc.constantFrom(1, 1, 1, 2, 3),
  seed: fc.option(fc.integer({ min: 0, max: 1000 })),
  ignoreEos: fc.boolean(),
  stop: fc.boolean(),
  priority: fc.integer({ min: 0, max: 3 }),
  arriveAt: fc.integer({ min: 0, max: 12 }),
  abortAt: fc.option(fc.integer({ min: 1, max: 30 }), { freq: 6 }),
});

describe('SchedulerV0 simulation', () => {
  it('finishes every request with the tokens it would get alone, within budgets, leaking nothing', () => {
    fc.assert(
      fc.property(configArb, fc.array(requestArb, { minLength: 1, maxLength: 14 }), (cfg, specs) => {
        const maxNumBatchedTokens = cfg.enableChunkedPrefill ? Math.max(cfg.maxNumBatchedTokens, cfg.maxNumSeqs) : Math.max(MAX_LEN, cfg.maxNumBatchedTokens);
        let now = 0;
        const s = new SchedulerV0({ ...cfg, maxNumBatchedTokens, blockSize: BLOCK, maxModelLen: MAX_LEN, watermark: 0.01, clock: () => now });
        const runner = new KvSimulatingRunner(BLOCK, cfg.numGpuBlocks, cfg.numCpuBlocks, VOCAB);
        const reqs: EngineCoreRequest[] = specs.map((r, i) => {
          const prompt = [...Array.from({ length: r.prefixLen }, (_, k) => 1 + ((r.prefix * 7 + k) % 40)), ...Array.from({ length: r.tailLen }, (_, k) => 1 + ((i * 13 + k) % 45))];
          const maxTokens = Math.min(r.maxTokens, MAX_LEN - prompt.length);
          return makeRequest(
            `r${i}`,
            prompt,
            { maxTokens, minTokens: Math.min(r.minTokens, maxTokens), n: Math.min(r.n, cfg.maxNumSeqs), seed: r.seed, ignoreEos: r.ignoreEos, stopTokenIds: r.stop ? [7] : [] },
            { arrivalTime: r.arriveAt, priority: r.priority },
          );
        });
        const outputs: EngineCoreOutput[] = [];
        const aborted = new Set<string>();
        let step = 0;
        for (; step < 2000; step++) {
          now = step;
          specs.forEach((r, i) => {
            if (r.arriveAt === step) s.addRequest(reqs[i]!);
            if (r.abortAt === step) {
              s.finishRequests([reqs[i]!.reqId], RequestStatus.FINISHED_ABORTED);
              aborted.add(reqs[i]!.reqId);
            }
          });
          if (step > 12 && !s.hasUnfinishedRequests()) break;
          const so = s.schedule();
          let sum = 0;
          for (const n of so.numScheduledTokens.values()) sum += n;
          expect(so.totalNumScheduledTokens).toBe(sum);
          expect(sum).toBeLessThanOrEqual(maxNumBatchedTokens);
          expect(so.numScheduledTokens.size).toBeLessThanOrEqual(cfg.maxNumSeqs);
          // A step never both swaps out and swaps in, so the runner may apply them in either order.
          expect(so.kvCacheOps.swapIn.length === 0 || so.kvCacheOps.swapOut.length === 0).toBe(true);
          if (!cfg.enableChunkedPrefill && specs.every((r) => r.n === 1)) {
            // Default policy: a step is prefill-only or decode-only.
            const kinds = new Set([...so.scheduledNewReqs.map(() => 'prefill'), ...so.scheduledCachedReqs.map((c) => (so.numScheduledTokens.get(c.reqId)! > 1 ? 'prefill' : 'decode'))]);
            if (so.scheduledNewReqs.length > 0) expect(kinds).toEqual(new Set(['prefill']));
          }
          outputs.push(...s.updateFromOutput(so, runner.execute(so)));
          const st = s.getStats();
          expect(st.kvCacheUsage).toBeGreaterThanOrEqual(0);
          expect(st.kvCacheUsage).toBeLessThanOrEqual(1);
        }
        expect(s.hasUnfinishedRequests()).toBe(false); // no starvation within the step bound
        runner.execute(s.schedule()); // delivers the last finished ids
        expect(runner.numKnownSeqs).toBe(0);
        expect(s.bm.numFreeGpuBlocks).toBe(cfg.numGpuBlocks - 1);
        expect(s.bm.numFreeCpuBlocks).toBe(Math.max(cfg.numCpuBlocks - 1, 0));
        const got = tokensBySeq(outputs);
        const finished = new Set(outputs.filter((o) => o.finishReason !== null).map((o) => o.reqId));
        for (const req of reqs) {
          const n = req.samplingParams.n;
          for (let i = 0; i < n; i++) {
            const id = n === 1 ? req.reqId : childRequestId(req.reqId, i);
            const params = n === 1 ? req.samplingParams : { ...req.samplingParams, n: 1, seed: req.samplingParams.seed === null ? null : req.samplingParams.seed + i };
            const want = referenceOutputs(req.promptTokenIds, params, id, 0, MAX_LEN, VOCAB);
            const have = got.get(id) ?? [];
            if (aborted.has(req.reqId)) expect(want.slice(0, have.length)).toEqual(have);
            else {
              expect(have).toEqual(want);
              expect(finished.has(id)).toBe(true);
            }
          }
        }
        void requestId;
      }),
      { numRuns: Number(process.env.SIM_RUNS ?? 120) },
    );
  });
});
