import {
  requestId,
  RequestStatus,
  resolveSamplingParams,
  VllmError,
  type EngineCoreRequest,
  type SamplingParamsInit,
  type Scheduler,
} from '@vllm-ts/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACTORY_CONFIG, type SchedulerFactory, type SchedulerFactoryConfig } from './scheduler-factory.js';
import { ScriptedRunner } from './scripted-runner.js';
import { runSimulation } from './simulator.js';

/** What the suite may assume of an implementation. */
export interface ConformanceFeatures {
  /** Drafts through `updateDraftTokenIds` are scheduled and verified (V1). */
  readonly speculativeDecoding: boolean;
  /** Prompts longer than the token budget are split over steps (V1 always; V0 when enabled). */
  readonly chunkedPrefill: boolean;
  /** Simulation size (requests per run). Default 1500. */
  readonly numRequests?: number;
}

/**
 * Registers, with vitest, the tests every scheduler must pass where the V0 and V1 contracts agree:
 * scripted simulations under roomy and tight memory, both policies, chunking and drafts when
 * supported, plus small scenarios (stop conditions, aborts, duplicate ids, prefix-cache reset).
 *
 * @param name shown in the test names
 * @param create builds the scheduler under test
 * @param features what the implementation supports
 * @example
 * ```ts
 * describeSchedulerConformance('v1', (c) => new Scheduler({ ...c }), { speculativeDecoding: true, chunkedPrefill: true });
 * ```
 */
export function describeSchedulerConformance(name: string, create: SchedulerFactory, features: ConformanceFeatures): void {
  const numRequests = features.numRequests ?? 1500;
  const longPrompts: [number, number] = features.chunkedPrefill ? [1, 100] : [1, 40];

  describe(`${name}: scheduler conformance`, () => {
    it('simulation, roomy memory: exact scripted outputs, no leak', () => {
      const r = runSimulation(create, { numRequests, seed: 1, config: { numGpuBlocks: 256 } });
      expect(r.numFinished + r.numAborted).toBe(numRequests);
      expect(r.numPreemptions).toBe(0);
    });

    it('simulation, tight memory: preemptions happen and every request still ends exactly', () => {
      const r = runSimulation(create, { numRequests, seed: 2, arrivalsPerStep: 2, promptLen: longPrompts, config: { numGpuBlocks: 40 } });
      expect(r.numPreemptions).toBeGreaterThan(0);
      expect(r.numFinished + r.numAborted).toBe(numRequests);
    });

    it('simulation, priority policy under tight memory', () => {
      const r = runSimulation(create, { numRequests, seed: 3, arrivalsPerStep: 2, config: { numGpuBlocks: 40, policy: 'priority' } });
      expect(r.numPreemptions).toBeGreaterThan(0);
    });

    it('simulation, shared prefixes hit the cache', () => {
      const r = runSimulation(create, { numRequests: Math.ceil(numRequests / 2), seed: 4, numSharedPrefixes: 2, config: { numGpuBlocks: 128 } });
      expect(r.prefixHitRate).toBeGreaterThan(0.1);
    });

    it.runIf(features.chunkedPrefill)(`simulation, long prompts chunked under a small budget and a threshold${features.chunkedPrefill ? '' : ' (skipped: this scheduler does not cap a request by longPrefillTokenThreshold)'}`, () => {
      const r = runSimulation(create, {
        numRequests: Math.ceil(numRequests / 2),
        seed: 5,
        promptLen: [20, 120],
        config: { maxNumBatchedTokens: 32, longPrefillTokenThreshold: 12, numGpuBlocks: 96 },
      });
      expect(r.numFullSteps).toBeGreaterThan(0);
    });

    it.runIf(features.speculativeDecoding)(`simulation, speculative drafts with full, partial and no acceptance${features.speculativeDecoding ? '' : ' (skipped: this scheduler has no speculative decoding)'}`, () => {
      runSimulation(create, { numRequests, seed: 6, numSpeculativeTokens: 3, arrivalsPerStep: 1.5, config: { numGpuBlocks: 48 } });
    });

    it('stop conditions: EOS, stop token (reported), max tokens, min tokens holding EOS back', () => {
      // Script: the k-th output of every request is token 10 + k; EOS is 12.
      const run = (params: SamplingParamsInit): { tokens: number[]; reason: string | null; stopReason: unknown } => {
        const s = create(DEFAULT_FACTORY_CONFIG);
        s.addRequest(request('a', [1, 2, 3], params, 12));
        return drive(s, (_, k) => 10 + k).a!;
      };
      expect(run({ maxTokens: 10 })).toEqual({ tokens: [10, 11, 12], reason: 'stop', stopReason: null });
      expect(run({ maxTokens: 10, stopTokenIds: [11] })).toEqual({ tokens: [10, 11], reason: 'stop', stopReason: 11 });
      expect(run({ maxTokens: 2 })).toEqual({ tokens: [10, 11], reason: 'length', stopReason: null });
      expect(run({ maxTokens: 10, minTokens: 4, stopTokenIds: [13] })).toEqual({ tokens: [10, 11, 12, 13], reason: 'stop', stopReason: 13 });
      expect(run({ maxTokens: 5, ignoreEos: true })).toEqual({ tokens: [10, 11, 12, 13, 14], reason: 'length', stopReason: null });
    });

    it('aborts waiting, running and finished requests; idempotent; blocks return', () => {
      const s = create(DEFAULT_FACTORY_CONFIG);
      s.addRequest(request('a', [1, 2, 3, 4, 5], { maxTokens: 50 }));
      const runner = new ScriptedRunner({ numBlocks: DEFAULT_FACTORY_CONFIG.numGpuBlocks, blockSize: DEFAULT_FACTORY_CONFIG.blockSize, script: () => 7 });
      let out = s.schedule();
      s.updateFromOutput(out, runner.execute(out));
      s.addRequest(request('b', [1, 2], { maxTokens: 50 }));
      expect(s.getNumUnfinishedRequests()).toBe(2);
      s.finishRequests([requestId('b')], RequestStatus.FINISHED_ABORTED); // waiting
      s.finishRequests([requestId('a')], RequestStatus.FINISHED_ABORTED); // running
      s.finishRequests([requestId('a'), requestId('zzz')], RequestStatus.FINISHED_ABORTED); // finished, unknown
      expect(s.hasUnfinishedRequests()).toBe(false);
      expect(s.getStats().kvCacheUsage).toBe(0);
      out = s.schedule();
      expect([...out.finishedReqIds].sort()).toEqual(['a', 'b']);
      expect(out.totalNumScheduledTokens).toBe(0);
      // An abort between schedule() and updateFromOutput(): the step's result for it is dropped.
      s.addRequest(request('c', [1, 2, 3], { maxTokens: 50 }));
      out = s.schedule();
      const ran = runner.execute(out);
      s.finishRequests(null, RequestStatus.FINISHED_ABORTED);
      expect(s.updateFromOutput(out, ran).toArray()).toEqual([]);
      expect(s.getStats().kvCacheUsage).toBe(0);
    });

    it('refuses a duplicate live request id', () => {
      const s = create(DEFAULT_FACTORY_CONFIG);
      s.addRequest(request('a', [1, 2, 3]));
      let err: unknown;
      try {
        s.addRequest(request('a', [4]));
      } catch (e) {
        err = e;
      }
      expect(VllmError.isInstance(err) && err.code).toBe('duplicate_request_id');
    });

    it('resets the prefix cache only when no request holds blocks', () => {
      const s = create(DEFAULT_FACTORY_CONFIG);
      s.addRequest(request('a', [1, 2, 3, 4, 5, 6, 7, 8, 9], { maxTokens: 3 }));
      const out = s.schedule();
      expect(s.resetPrefixCache()).toBe(false);
      const runner = new ScriptedRunner({ numBlocks: DEFAULT_FACTORY_CONFIG.numGpuBlocks, blockSize: 4, script: () => 5 });
      s.updateFromOutput(out, runner.execute(out));
      drive(s, () => 5, runner);
      expect(s.resetPrefixCache()).toBe(true);
    });
  });
}

/**
 * An engine-core request with validated params (temperature 0), for tests.
 * @param id request id
 * @param prompt prompt token ids
 * @param params sampling settings
 * @param eosTokenId EOS id (default none)
 * @param extra priority, arrival time, salt
 */
export function request(
  id: string,
  prompt: number[],
  params: SamplingParamsInit = {},
  eosTokenId: number | null = null,
  extra: Partial<Pick<EngineCoreRequest, 'priority' | 'arrivalTime' | 'cacheSalt'>> = {},
): EngineCoreRequest {
  return {
    reqId: requestId(id),
    promptTokenIds: prompt,
    samplingParams: resolveSamplingParams({ temperature: 0, ...params }),
    eosTokenId,
    arrivalTime: extra.arrivalTime ?? 0,
    ...(extra.priority === undefined ? {} : { priority: extra.priority }),
    ...(extra.cacheSalt === undefined ? {} : { cacheSalt: extra.cacheSalt }),
  };
}

/**
 * Runs `scheduler` to completion against a scripted runner; returns each request's tokens and finish.
 * @param scheduler a scheduler with requests added
 * @param script the token script
 * @param runner an existing runner to continue with (default: a new one)
 * @param config the geometry the scheduler was built with
 */
export function drive(
  scheduler: Scheduler,
  script: (id: string, k: number) => number,
  runner?: ScriptedRunner,
  config: SchedulerFactoryConfig = DEFAULT_FACTORY_CONFIG,
): Record<string, { tokens: number[]; reason: string | null; stopReason: unknown }> {
  const r = runner ?? new ScriptedRunner({ numBlocks: config.numGpuBlocks, blockSize: config.blockSize, script });
  const got: Record<string, { tokens: number[]; reason: string | null; stopReason: unknown }> = {};
  for (let step = 0; scheduler.hasUnfinishedRequests(); step++) {
    if (step > 10_000) throw new Error('drive(): no progress after 10,000 steps');
    const out = scheduler.schedule();
    for (const o of scheduler.updateFromOutput(out, r.execute(out))) {
      const g = (got[o.reqId] ??= { tokens: [], reason: null, stopReason: null });
      g.tokens.push(...o.newTokenIds);
      if (o.finishReason !== null) {
        g.reason = o.finishReason;
        g.stopReason = o.stopReason;
      }
    }
  }
  return got;
}
