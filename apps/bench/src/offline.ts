import { LLMEngine, SamplingParams, type EngineArgs } from '@vllm-ts/engine';
import type { BenchRequest } from './datasets.js';
import { summarize, type DistributionSummary } from './stats.js';

/** Figures of one offline run (all requests submitted at once, the engine stepped until done). */
export interface OfflineResult {
  readonly numRequests: number;
  readonly elapsedS: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly requestThroughput: number;
  readonly inputThroughput: number;
  readonly outputThroughput: number;
  readonly totalTokenThroughput: number;
  /** Submission to first token, per request. */
  readonly ttftMs: DistributionSummary;
  /** Prompt tokens served from the prefix cache. */
  readonly numCachedTokens: number;
  readonly numPreemptions: number;
  readonly numSteps: number;
  /** Speculative decoding in this run: draft tokens proposed, accepted, and the acceptance rate (0 without speculation). */
  readonly specDecoding: { readonly numDraftTokens: number; readonly numAcceptedTokens: number; readonly acceptanceRate: number };
}

let runCounter = 0;

/**
 * Submits every request to an engine at once, steps it until all finish, and measures.
 * Each request generates exactly `outputLen` tokens (greedy, EOS ignored).
 * @param engine a started engine with no requests in flight
 * @param requests the workload
 * @param onProgress called with the number of finished requests
 * @returns throughputs, TTFT, cache and preemption counts
 */
export async function runOffline(engine: LLMEngine, requests: readonly BenchRequest[], onProgress?: (done: number) => void): Promise<OfflineResult> {
  const statsBefore = engine.getSchedulerStats();
  const before = statsBefore?.numPreemptions ?? 0;
  const draftsBefore = statsBefore?.specDecoding.numDraftTokens ?? 0;
  const acceptedBefore = statsBefore?.specDecoding.numAcceptedTokens ?? 0;
  const tag = `b${runCounter++}`;
  const start = performance.now();
  const firstToken = new Map<string, number>();
  let inputTokens = 0;
  requests.forEach((r, i) => {
    inputTokens += r.promptTokenIds.length;
    engine.addRequest(`${tag}-${i}`, { promptTokenIds: [...r.promptTokenIds] }, new SamplingParams({ maxTokens: r.outputLen, ignoreEos: true, temperature: 0 }));
  });
  let done = 0;
  let outputTokens = 0;
  let cached = 0;
  let steps = 0;
  while (engine.hasUnfinishedRequests()) {
    const outs = await engine.step();
    steps++;
    const t = performance.now();
    for (const o of outs) {
      if (!firstToken.has(o.requestId) && (o.outputs[0]?.tokenIds.length ?? 0) > 0) firstToken.set(o.requestId, t - start);
      if (o.finished) {
        done++;
        outputTokens += o.outputs[0]?.tokenIds.length ?? 0;
        cached += o.numCachedTokens;
      }
    }
    onProgress?.(done);
  }
  const elapsedS = (performance.now() - start) / 1000;
  const statsAfter = engine.getSchedulerStats();
  const numDraftTokens = (statsAfter?.specDecoding.numDraftTokens ?? 0) - draftsBefore;
  const numAcceptedTokens = (statsAfter?.specDecoding.numAcceptedTokens ?? 0) - acceptedBefore;
  return {
    numRequests: requests.length,
    elapsedS,
    inputTokens,
    outputTokens,
    requestThroughput: done / elapsedS,
    inputThroughput: inputTokens / elapsedS,
    outputThroughput: outputTokens / elapsedS,
    totalTokenThroughput: (inputTokens + outputTokens) / elapsedS,
    ttftMs: summarize([...firstToken.values()]),
    numCachedTokens: cached,
    numPreemptions: (statsAfter?.numPreemptions ?? 0) - before,
    numSteps: steps,
    specDecoding: { numDraftTokens, numAcceptedTokens, acceptanceRate: numDraftTokens > 0 ? numAcceptedTokens / numDraftTokens : 0 },
  };
}

/**
 * Starts an engine for a benchmark (seed fixed so runs repeat).
 * @param args engine options
 * @returns the engine
 */
export function startEngine(args: EngineArgs): Promise<LLMEngine> {
  return LLMEngine.create({ seed: 0, ...args });
}
