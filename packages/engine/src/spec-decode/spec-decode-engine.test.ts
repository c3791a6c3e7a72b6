import { requestId, resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { MODEL_FIXTURES, modelFixtureDir, modelReference } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { resolveEngineArgs } from '../config/engine-args.js';
import { buildEngineCore } from '../core/build-engine-core.js';
import { EngineCore } from '../core/engine-core.js';
import { createScheduler } from '../core/scheduler-registry.js';
import { loadModelRunner } from '../runner/model-runner.js';
import { NgramProposer } from './ngram-proposer.js';

// The engine core driven with this folder's NgramProposer (the runner verifies drafts): greedy tokens
// must equal the Hugging Face reference and the same run without speculation, token for token.

interface Reference {
  prompts: { prompt_ids: number[]; greedy_ids: number[] }[];
}

async function coresFor(name: string): Promise<(k: number) => EngineCore> {
  const dir = modelFixtureDir(name);
  const settings = resolveEngineArgs({ model: dir, maxModelLen: 640, kvCacheMemoryBytes: 1 << 22, enablePrefixCaching: false });
  const { runner, info } = await buildEngineCore(settings, dir, { loadRunner: loadModelRunner, createScheduler });
  return (k) => {
    const scheduler = createScheduler('v1', {
      numGpuBlocks: info.numGpuBlocks,
      numCpuBlocks: 0,
      blockSize: settings.blockSize,
      maxNumSeqs: info.maxNumSeqs,
      maxNumBatchedTokens: info.maxNumBatchedTokens,
      maxModelLen: info.maxModelLen,
      enablePrefixCaching: false,
      enableChunkedPrefill: settings.enableChunkedPrefill,
      schedulingPolicy: 'fcfs',
      longPrefillTokenThreshold: 0,
      preemptionMode: null,
      schedulerDelayFactor: 0,
      prefixCachingHashAlgo: settings.prefixCachingHashAlgo,
      numSpeculativeTokens: k,
    });
    const onError = (e: unknown): void => { throw e; };
    if (k === 0) return new EngineCore(scheduler, runner, { onError });
    const proposer = new NgramProposer({ numSpeculativeTokens: k, promptLookupMin: 1, promptLookupMax: 3, maxModelLen: info.maxModelLen });
    return new EngineCore(scheduler, runner, { proposer, onError });
  };
}

function generate(core: EngineCore, prompts: readonly number[][], init: SamplingParamsInit, tag: string): number[][] {
  const params = resolveSamplingParams(init);
  const out = prompts.map(() => [] as number[]);
  prompts.forEach((p, i) => core.addRequest({ reqId: requestId(`${tag}-${i}`), promptTokenIds: p, samplingParams: params, eosTokenId: null, arrivalTime: 0 }));
  while (core.hasWork()) {
    for (const o of core.step()?.outputs ?? []) {
      expect(o.finishReason).not.toBe('error');
      out[Number(o.reqId.slice(tag.length + 1))]!.push(...o.newTokenIds);
    }
  }
  return out;
}

const GREEDY = { temperature: 0, maxTokens: 24, ignoreEos: true };

describe.each(MODEL_FIXTURES)('n-gram speculation on %s', (name) => {
  it('greedy tokens equal the reference; repetitive prompts accept drafts and still match the run without speculation', async () => {
    const ref = modelReference(name) as Reference;
    const core = await coresFor(name);
    const prompts = ref.prompts.map((p) => p.prompt_ids);
    const spec = core(4);
    expect(generate(spec, prompts, GREEDY, 'ref')).toEqual(ref.prompts.map((p) => p.greedy_ids));

    // A prompt that quotes itself, continued past the fixture's 24 tokens: most drafts come from the quote.
    const repetitive = prompts.map((p) => p.slice(0, 64)).map((q) => [...q, ...q, ...q.slice(0, 3)]);
    const long = { ...GREEDY, maxTokens: 48 };
    const plain = generate(core(0), repetitive, long, 'plain');
    const before = spec.getStats().specDecoding.numAcceptedTokens;
    expect(generate(spec, repetitive, long, 'rep')).toEqual(plain);
    const stats = spec.getStats().specDecoding;
    expect(stats.numDraftTokens).toBeGreaterThan(0);
    // NOTE: tiny-llama's greedy continuations never repeat their prompt, so none of its drafts is accepted.
    if (name !== 'tiny-llama') expect(stats.numAcceptedTokens).toBeGreaterThan(before);
    expect(stats.numAcceptedTokensPerPos.reduce((a, b) => a + b, 0)).toBe(stats.numAcceptedTokens);
  }, 60_000);
});
