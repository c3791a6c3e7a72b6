import { describe, expect, it } from 'vitest';
import { EngineCoreOutputBatch, makeEmptySchedulerOutput, makeEmptySchedulerStats, requestId, resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import type { EngineCoreOutput, ModelRunnerOutput, RequestId, Scheduler, SchedulerOutput } from '@vllm-ts/core';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { resolveEngineArgs, type EngineArgs } from '../config/engine-args.js';
import { loadModelRunner } from '../runner/model-runner.js';
import { buildEngineCore, type EngineModelRunner } from './build-engine-core.js';
import { EngineCore, STALL_STEPS } from './engine-core.js';
import { createScheduler } from './scheduler-registry.js';
import { expectStallGuard } from '../testing/stall-check.js';

// The batch-queue loop (async scheduling) on the CPU runner and the real V1 scheduler: every
// observable result equals the synchronous loop's.

const ref = modelReference('tiny-llama') as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };
const prompts = ref.prompts.map((p) => p.prompt_ids);

type Fault = 'submit' | 'collect' | null;

async function build(args: EngineArgs) {
  const errors: { error: unknown; failed: readonly RequestId[] }[] = [];
  const fault: { next: Fault; after: number } = { next: null, after: 0 };
  // Submitted, not yet collected steps, and how often a step scheduled a request again while its previous step was in flight.
  const queued: SchedulerOutput[] = [];
  const overlap = { pipelined: 0 };
  const { core, runner } = await buildEngineCore(
    resolveEngineArgs({ maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, enablePrefixCaching: false, ...args }),
    modelFixtureDir('tiny-llama'),
    {
      loadRunner: async (opts) => {
        const real = await loadModelRunner(opts);
        // Faults as a device error would raise them, in submit or in collect, after `after` more calls.
        const maybeFail = (where: Fault): void => {
          if (fault.next !== where) return;
          if (fault.after-- > 0) return;
          fault.next = null;
          throw new Error(`simulated ${where} fault`);
        };
        const wrapped: EngineModelRunner = {
          modelConfig: real.modelConfig,
          kvCacheBytesPerBlock: (b: number) => real.kvCacheBytesPerBlock(b),
          initializeKVCache: (o) => real.initializeKVCache(o),
          close: () => real.close(),
          execute: (so: SchedulerOutput) => real.execute(so),
          submit: (so: SchedulerOutput) => {
            maybeFail('submit');
            real.submit!(so);
            for (const id of so.numScheduledTokens.keys()) if (queued.some((q) => (q.numScheduledTokens.get(id) ?? 0) > 0)) overlap.pipelined++;
            queued.push(so);
          },
          collect: (): ModelRunnerOutput => {
            queued.shift();
            try {
              maybeFail('collect');
            } catch (error) {
              real.collect!(); // the step leaves the queue even when collect throws
              throw error;
            }
            return real.collect!();
          },
        };
        return wrapped;
      },
      createScheduler,
      onError: (error, failed) => errors.push({ error, failed }),
    },
  );
  return { core, runner, errors, fault, overlap };
}

interface Run {
  tokens: Map<string, number[]>;
  finish: Map<string, string>;
  maxInFlight: number;
}

let serial = 0;

/** Adds the prompts and steps to the end; `onStep(i)` runs before step i (aborts, more requests). */
function run(core: EngineCore, ps: readonly (readonly number[])[], init: (i: number) => SamplingParamsInit, onStep?: (i: number, ids: RequestId[]) => void): Run {
  const tag = `r${serial++}`;
  const ids = ps.map((_, i) => requestId(`${tag}-${i}`));
  ps.forEach((p, i) =>
    core.addRequest({ reqId: ids[i]!, promptTokenIds: [...p], samplingParams: resolveSamplingParams(init(i)), eosTokenId: 2, arrivalTime: 0 }),
  );
  const out: Run = { tokens: new Map(), finish: new Map(), maxInFlight: 0 };
  for (let step = 0; step < 2000 && core.hasWork(); step++) {
    onStep?.(step, ids);
    const outputs: EngineCoreOutput[] = core.step()?.outputs.toArray() ?? [];
    out.maxInFlight = Math.max(out.maxInFlight, core.numInFlightSteps);
    for (const o of outputs) {
      const key = o.reqId.slice(tag.length + 1);
      expect(out.finish.has(key), `no output after ${o.reqId} finished`).toBe(false);
      out.tokens.set(key, [...(out.tokens.get(key) ?? []), ...o.newTokenIds]);
      if (o.finishReason !== null) out.finish.set(key, o.finishReason);
    }
  }
  expect(core.hasWork()).toBe(false);
  return out;
}

const greedy = (maxTokens = 24): SamplingParamsInit => ({ temperature: 0, maxTokens, ignoreEos: true });

describe('EngineCore with async scheduling (CPU runner, V1 scheduler)', () => {
  it('reproduces the reference greedy tokens with steps in flight, and frees every block', async () => {
    const { core, runner, overlap } = await build({ asyncScheduling: true });
    const r = run(core, prompts, () => greedy());
    // The V1 scheduler in async mode schedules decodes whose previous token is still in flight.
    expect(overlap.pipelined).toBeGreaterThan(20);
    expect(prompts.map((_, i) => r.tokens.get(String(i)))).toEqual(ref.prompts.map((p) => p.greedy_ids));
    expect([...r.finish.values()].every((f) => f === 'length')).toBe(true);
    expect(r.maxInFlight).toBeGreaterThan(0);
    expect(core.getStats().kvCacheUsage).toBe(0);
    expect(core.numInFlightSteps).toBe(0);
    runner.close();
  }, 60_000);

  it('gives the synchronous loop\'s tokens and finish reasons for EOS, stop ids, max tokens and seeded sampling', async () => {
    const init = (i: number): SamplingParamsInit =>
      [
        { temperature: 0, maxTokens: 40 }, // EOS may come first
        { temperature: 0, maxTokens: 30, stopTokenIds: [ref.prompts[1]!.greedy_ids[5]!] },
        { temperature: 0, maxTokens: 3, ignoreEos: true },
        { temperature: 0.8, topP: 0.9, seed: 7, maxTokens: 16, ignoreEos: true },
        { temperature: 0, maxTokens: 1, ignoreEos: true },
      ][i % 5]!;
    const sync = await build({});
    const expectedRun = run(sync.core, prompts, init);
    sync.runner.close();
    const asyncCore = await build({ asyncScheduling: true });
    const got = run(asyncCore.core, prompts, init);
    expect(got.tokens).toEqual(expectedRun.tokens);
    expect(got.finish).toEqual(expectedRun.finish);
    expect(new Set(got.finish.values()).has('stop')).toBe(true);
    expect(asyncCore.core.getStats().kvCacheUsage).toBe(0);
    asyncCore.runner.close();
  }, 60_000);

  it('aborts requests while their steps are in flight: no output after the abort, the others unchanged', async () => {
    const { core, runner } = await build({ asyncScheduling: true });
    const aborted = new Set<RequestId>();
    const r = run(core, prompts.slice(0, 4), () => greedy(), (step, ids) => {
      if (step === 3 || step === 6) {
        const id = ids[step === 3 ? 1 : 2]!;
        core.abortRequests([id]);
        aborted.add(id);
      }
    });
    expect(r.tokens.get('0')).toEqual(ref.prompts[0]!.greedy_ids);
    expect(r.tokens.get('3')).toEqual(ref.prompts[3]!.greedy_ids);
    for (const k of ['1', '2']) {
      expect(r.finish.has(k)).toBe(false); // the front end reports aborts; the core sends nothing more
      expect(ref.prompts[Number(k)]!.greedy_ids.slice(0, r.tokens.get(k)?.length ?? 0)).toEqual(r.tokens.get(k) ?? []);
    }
    expect(aborted.size).toBe(2);
    expect(core.getStats().kvCacheUsage).toBe(0);
    runner.close();
  }, 60_000);

  it('preempts under a tight KV cache and still gives the reference tokens', async () => {
    // 48 blocks of 4 tokens: the eight requests cannot all hold their full sequences at once.
    const { core, runner } = await build({ asyncScheduling: true, blockSize: 4, numGpuBlocks: 48, maxModelLen: 160 });
    const ps = prompts.filter((p) => p.length + 24 <= 160);
    const r = run(core, ps, () => greedy());
    const want = ref.prompts.filter((p) => p.prompt_ids.length + 24 <= 160).map((p) => p.greedy_ids);
    expect(ps.map((_, i) => r.tokens.get(String(i)))).toEqual(want);
    expect(core.getStats().numPreemptions).toBeGreaterThan(0);
    expect(core.getStats().kvCacheUsage).toBe(0);
    runner.close();
  }, 60_000);

  it.each(['submit', 'collect'] as const)('a fault in %s fails the requests of that step only, frees their blocks, and the engine goes on', async (where) => {
    const { core, runner, errors, fault } = await build({ asyncScheduling: true });
    fault.next = where;
    fault.after = 3;
    const first = run(core, prompts.slice(0, 3), () => greedy());
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toMatchObject({ message: `simulated ${where} fault` });
    const failedKeys = errors[0]!.failed.map((id) => id.slice(id.indexOf('-') + 1));
    expect(failedKeys.length).toBeGreaterThan(0);
    for (const k of ['0', '1', '2']) {
      if (failedKeys.includes(k)) expect(first.finish.get(k)).toBe('error');
      else expect(first.tokens.get(k)).toEqual(ref.prompts[Number(k)]!.greedy_ids);
    }
    expect(core.getStats().kvCacheUsage).toBe(0);
    // A healthy engine afterwards: exact tokens.
    const second = run(core, prompts.slice(3, 5), () => greedy());
    expect([second.tokens.get('0'), second.tokens.get('1')]).toEqual([ref.prompts[3]!.greedy_ids, ref.prompts[4]!.greedy_ids]);
    expect(core.getStats().kvCacheUsage).toBe(0);
    runner.close();
  }, 60_000);

  it('abortAll drains the steps in flight', async () => {
    const { core, runner } = await build({ asyncScheduling: true });
    prompts.slice(0, 3).forEach((p, i) =>
      core.addRequest({ reqId: requestId(`d-${i}`), promptTokenIds: [...p], samplingParams: resolveSamplingParams(greedy()), eosTokenId: 2, arrivalTime: 0 }),
    );
    for (let i = 0; i < 4; i++) core.step();
    expect(core.numInFlightSteps).toBeGreaterThan(0);
    core.abortAll();
    expect(core.numInFlightSteps).toBe(0);
    expect(core.hasWork()).toBe(false);
    expect(core.getStats().kvCacheUsage).toBe(0);
    runner.close();
  }, 60_000);
});

describe('EngineCore with async scheduling: stall guard', () => {
  it(`fails the requests of a scheduler that schedules nothing for ${STALL_STEPS} steps`, () => {
    // A scheduler holding one request it can never schedule (as one whose prompt never fits).
    const held = new Set<RequestId>();
    const scheduler: Scheduler = {
      specificationVersion: 'v1',
      addRequest: (r) => void held.add(r.reqId),
      schedule: () => makeEmptySchedulerOutput(),
      updateFromOutput: () => new EngineCoreOutputBatch(0),
      updateDraftTokenIds: () => {},
      finishRequests: (ids) => {
        for (const id of ids ?? [...held]) held.delete(id);
      },
      hasUnfinishedRequests: () => held.size > 0,
      getNumUnfinishedRequests: () => held.size,
      getStats: () => makeEmptySchedulerStats(),
      resetPrefixCache: () => true,
    };
    const submitted: SchedulerOutput[] = [];
    const empty: ModelRunnerOutput = { sampledTokenIds: new Map(), logprobs: new Map(), promptLogprobs: new Map() };
    const errors: unknown[] = [];
    const core = new EngineCore(
      scheduler,
      { execute: () => empty, submit: (so) => void submitted.push(so), collect: () => (submitted.shift(), empty) },
      { asyncScheduling: true, onError: (e) => errors.push(e) },
    );
    core.addRequest({ reqId: requestId('s'), promptTokenIds: [1, 2, 3], samplingParams: resolveSamplingParams({}), eosTokenId: 2, arrivalTime: 0 });
    expectStallGuard(core, 's', errors);
    expect(submitted).toEqual([]);
  });
});

describe('asyncScheduling engine argument', () => {
  it('defaults to false', () => {
    expect(resolveEngineArgs({}).asyncScheduling).toBe(false);
  });
  it('is refused with engine V0', () => {
    expect(() => resolveEngineArgs({ asyncScheduling: true, engineVersion: 'v0' })).toThrow(/asyncScheduling.*engineVersion "v0"/s);
  });
  it('is refused with speculative decoding, naming both settings', () => {
    expect(() =>
      resolveEngineArgs({ asyncScheduling: true, speculativeConfig: { method: 'ngram', numSpeculativeTokens: 2, promptLookupMax: 2 } }),
    ).toThrow(/asyncScheduling.*speculativeConfig/s);
  });
  it('must be a boolean', () => {
    expect(() => resolveEngineArgs({ asyncScheduling: 'yes' as unknown as boolean })).toThrow(/asyncScheduling/);
  });
});
