import { describe, expect, it } from 'vitest';
import { requestId, resolveSamplingParams } from '@vllm-ts/core';
import type { EngineCoreOutput, EngineCoreRequest, RequestId } from '@vllm-ts/core';
import { modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { resolveEngineArgs } from '../config/engine-args.js';
import { loadModelRunner } from '../runner/model-runner.js';
import { buildEngineCore } from './build-engine-core.js';
import type { EngineCore } from './engine-core.js';
import { STALL_STEPS } from './engine-core.js';
import { createScheduler } from './scheduler-registry.js';
import { expectStallGuard } from '../testing/stall-check.js';

const ref = modelReference('tiny-llama') as { prompts: { prompt_ids: number[]; greedy_ids: number[] }[] };

function request(id: string, prompt: number[], maxTokens = 24): EngineCoreRequest {
  return {
    reqId: requestId(id),
    promptTokenIds: prompt,
    samplingParams: resolveSamplingParams({ temperature: 0, maxTokens, ignoreEos: true }),
    eosTokenId: 2,
    arrivalTime: 0,
  };
}

function runToEnd(core: EngineCore): Map<RequestId, EngineCoreOutput[]> {
  const byId = new Map<RequestId, EngineCoreOutput[]>();
  for (let i = 0; i < 500 && core.hasWork(); i++) {
    for (const o of core.step()?.outputs ?? []) byId.set(o.reqId, [...(byId.get(o.reqId) ?? []), o]);
  }
  return byId;
}

async function build(engineVersion: 'v0' | 'v1') {
  const errors: { error: unknown; failed: readonly RequestId[] }[] = [];
  let failNext = false;
  const { core, runner } = await buildEngineCore(
    resolveEngineArgs({ engineVersion, maxModelLen: 640, kvCacheMemoryBytes: 1 << 22 }),
    modelFixtureDir('tiny-llama'),
    {
      loadRunner: async (opts) => {
        const real = await loadModelRunner(opts);
        // A runner whose next forward pass can be made to fail, as a device error would.
        return {
          modelConfig: real.modelConfig,
          kvCacheBytesPerBlock: (blockSize: number) => real.kvCacheBytesPerBlock(blockSize),
          initializeKVCache: (o: Parameters<typeof real.initializeKVCache>[0]) => real.initializeKVCache(o),
          close: () => real.close(),
          execute: (so: Parameters<typeof real.execute>[0]) => {
            if (failNext) {
              failNext = false;
              throw new Error('simulated device fault');
            }
            return real.execute(so);
          },
        };
      },
      createScheduler,
      onError: (error, failed) => errors.push({ error, failed }),
    },
  );
  return { core, runner, errors, failOnce: () => (failNext = true) };
}

describe.each(['v1', 'v0'] as const)('EngineCore (%s)', (version) => {
  it('fails only the requests of a failed step, and keeps serving', async () => {
    const { core, runner, errors, failOnce } = await build(version);
    core.addRequest(request('a', ref.prompts[1]!.prompt_ids));
    expect(core.step()!.outputs.toArray().map((o) => o.reqId)).toEqual(['a']); // prefill + first token
    failOnce();
    const failed = core.step()!;
    expect(failed.outputs.toArray()).toEqual([expect.objectContaining({ reqId: 'a', finishReason: 'error', newTokenIds: [] })]);
    expect(errors).toEqual([{ error: expect.objectContaining({ message: 'simulated device fault' }), failed: ['a'] }]);
    expect(failed.schedulerStats.kvCacheUsage).toBe(0);
    // The next requests run on a healthy engine and get exactly the reference tokens.
    core.addRequest(request('b', ref.prompts[2]!.prompt_ids));
    core.addRequest(request('c', ref.prompts[3]!.prompt_ids));
    const outs = runToEnd(core);
    expect(outs.get(requestId('b'))!.flatMap((o) => o.newTokenIds)).toEqual(ref.prompts[2]!.greedy_ids);
    expect(outs.get(requestId('c'))!.flatMap((o) => o.newTokenIds)).toEqual(ref.prompts[3]!.greedy_ids);
    runner.close();
  });

  it('turns a request the scheduler refuses into an error output', async () => {
    const { core, runner } = await build(version);
    core.addRequest(request('a', ref.prompts[0]!.prompt_ids, 4));
    core.addRequest(request('a', ref.prompts[0]!.prompt_ids, 4)); // duplicate id
    const outs = runToEnd(core);
    const finals = outs.get(requestId('a'))!.map((o) => o.finishReason).filter((r) => r !== null);
    expect(finals.sort()).toEqual(['error', 'length']);
    runner.close();
  });
});

describe('EngineCore stall guard', () => {
  it(`fails the requests of a scheduler that schedules nothing for ${STALL_STEPS} steps`, async () => {
    // V0 with chunked prefill and prefix caching schedules prefill chunks in whole blocks: a budget
    // below one block (refused by the engine options, forced here) can never admit a prompt.
    const errors: unknown[] = [];
    const { core, runner } = await buildEngineCore(
      resolveEngineArgs({ engineVersion: 'v0', maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, enableChunkedPrefill: true }),
      modelFixtureDir('tiny-llama'),
      {
        loadRunner: loadModelRunner,
        createScheduler: (v, c) => createScheduler(v, { ...c, enablePrefixCaching: true, maxNumBatchedTokens: 8, maxNumSeqs: 8 }),
        onError: (error) => errors.push(error),
      },
    );
    core.addRequest(request('s', ref.prompts[2]!.prompt_ids));
    expectStallGuard(core, 's', errors);
    runner.close();
  });
});
