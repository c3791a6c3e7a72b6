/**
 * Shared by the speculative-decoding test and benchmark (not part of the package): one loaded model
 * runner driven by fresh V1 engine cores, with or without an n-gram proposer, and a synchronous
 * generate loop over `EngineCore.step()`.
 * @internal
 */
import { requestId, resolveSamplingParams, type SamplingParamsInit } from '@vllm-ts/core';
import { resolveEngineArgs, type EngineArgs } from '../config/engine-args.js';
import { buildEngineCore } from '../core/build-engine-core.js';
import { EngineCore } from '../core/engine-core.js';
import { createScheduler } from '../core/scheduler-registry.js';
import { loadModelRunner } from '../runner/model-runner.js';
import { NgramProposer } from '../spec-decode/index.js';

/** An n-gram proposer's settings (vLLM's speculative config, resolved). */
export interface NgramSpec {
  readonly numSpeculativeTokens: number;
  readonly promptLookupMin: number;
  readonly promptLookupMax: number;
}

/**
 * Loads `dir` once (V1, prefix caching off) and returns a factory of engine cores sharing its runner.
 * @param dir model folder
 * @param args engine options on top of V1 without prefix caching
 * @returns `makeCore(spec)`: a fresh scheduler (and proposer when `spec` is given) over the runner
 */
export async function sharedRunnerCores(dir: string, args: EngineArgs): Promise<(spec: NgramSpec | null) => EngineCore> {
  const settings = resolveEngineArgs({ model: dir, enablePrefixCaching: false, ...args });
  const { runner, info } = await buildEngineCore(settings, dir, { loadRunner: loadModelRunner, createScheduler });
  return (spec) => {
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
      numSpeculativeTokens: spec?.numSpeculativeTokens ?? 0,
    });
    const onError = (e: unknown): void => {
      throw e;
    };
    if (spec === null) return new EngineCore(scheduler, runner, { onError });
    return new EngineCore(scheduler, runner, { onError, proposer: new NgramProposer({ ...spec, maxModelLen: info.maxModelLen }) });
  };
}

let serial = 0;

/**
 * Runs prompts to completion on a core, stepping synchronously.
 * @param core the engine core
 * @param prompts token ids per request
 * @param init sampling params, or a function of the request's index
 * @returns each request's generated tokens, the steps taken and every finish reason seen
 */
export function generateOnCore(
  core: EngineCore,
  prompts: readonly (readonly number[])[],
  init: SamplingParamsInit | ((i: number) => SamplingParamsInit),
): { tokens: number[][]; steps: number; finishReasons: string[] } {
  const tag = `g${serial++}`;
  const tokens = prompts.map(() => [] as number[]);
  const finishReasons: string[] = [];
  prompts.forEach((p, i) =>
    core.addRequest({
      reqId: requestId(`${tag}-${i}`),
      promptTokenIds: [...p],
      samplingParams: resolveSamplingParams(typeof init === 'function' ? init(i) : init),
      eosTokenId: null,
      arrivalTime: 0,
    }),
  );
  let steps = 0;
  while (core.hasWork()) {
    steps++;
    for (const o of core.step()?.outputs ?? []) {
      tokens[Number(o.reqId.slice(tag.length + 1))]!.push(...o.newTokenIds);
      if (o.finishReason !== null) finishReasons.push(o.finishReason);
    }
  }
  return { tokens, steps, finishReasons };
}
