import { resolveSamplingParams, requestId, type EngineCoreOutput, type EngineCoreRequest, type SamplingParamsInit } from '@vllm-ts/core';
import type { SchedulerV0 } from '../scheduler-v0.js';
import { KvSimulatingRunner } from './kv-simulating-runner.js';

/** A request with `numPromptTokens` distinct tokens (or the given ones). */
export function makeRequest(
  id: string,
  prompt: number | readonly number[],
  params: SamplingParamsInit = {},
  extra: Partial<EngineCoreRequest> = {},
): EngineCoreRequest {
  const promptTokenIds = typeof prompt === 'number' ? Array.from({ length: prompt }, (_, i) => 100 + i) : prompt;
  return {
    reqId: requestId(id),
    promptTokenIds,
    samplingParams: resolveSamplingParams({ ignoreEos: true, maxTokens: 16, ...params }),
    eosTokenId: 0,
    arrivalTime: 0,
    ...extra,
  };
}

/** Drives a scheduler with a {@link KvSimulatingRunner} until done or `maxSteps`; returns every output. */
export function runToCompletion(scheduler: SchedulerV0, runner: KvSimulatingRunner, maxSteps = 10_000): EngineCoreOutput[] {
  const all: EngineCoreOutput[] = [];
  for (let i = 0; i < maxSteps && scheduler.hasUnfinishedRequests(); i++) {
    const so = scheduler.schedule();
    all.push(...scheduler.updateFromOutput(so, runner.execute(so)));
  }
  return all;
}

/** A runner sized for `scheduler`. */
export function runnerFor(scheduler: SchedulerV0, vocabSize = 1000): KvSimulatingRunner {
  const c = scheduler.config;
  return new KvSimulatingRunner(c.blockSize, c.numGpuBlocks, c.numCpuBlocks, vocabSize);
}

/** Output tokens per sequence id, concatenated across steps. */
export function tokensBySeq(outputs: readonly EngineCoreOutput[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const o of outputs) {
    const list = m.get(o.reqId) ?? [];
    list.push(...o.newTokenIds);
    m.set(o.reqId, list);
  }
  return m;
}
