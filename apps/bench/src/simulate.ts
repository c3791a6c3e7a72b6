import { invariant, requestId, resolveSamplingParams } from '@vllm-ts/core';
import type { EngineCoreRequest, ModelRunnerOutput, RequestId, Scheduler } from '@vllm-ts/core';
import { SchedulerV0 } from '@vllm-ts/scheduler-v0';
import { Scheduler as SchedulerV1 } from '@vllm-ts/scheduler-v1';
import { stepTime, type CostModel, type StepRequestWork } from './cost-model.js';
import type { BenchRequest } from './datasets.js';
import { scaleSummary, summarize, type DistributionSummary } from './stats.js';

/** Which scheduler and cache settings to simulate. */
export interface SimulatedEngine {
  readonly engineVersion: 'v0' | 'v1';
  readonly enablePrefixCaching: boolean;
  /** V1 always chunks; for V0 this picks the decode-first chunked policy. */
  readonly enableChunkedPrefill: boolean;
  readonly maxNumSeqs: number;
  /** Token budget per step; default as vLLM on a GPU: V1 8192, V0 2048 chunked else max(maxModelLen, 2048). */
  readonly maxNumBatchedTokens?: number;
  readonly maxModelLen: number;
  readonly blockSize: number;
  /** KV blocks (null block included); default from the cost model's `kvCacheTokens`. */
  readonly numGpuBlocks?: number;
  /** V0 swap space in blocks. Default 0 (recompute preemption). */
  readonly numCpuBlocks?: number;
}

/** What one simulation predicts. Latencies in milliseconds, throughputs per simulated second. */
export interface SimulationResult {
  readonly engine: string;
  readonly numRequests: number;
  /** Simulated seconds from the first arrival to the last token. */
  readonly durationS: number;
  readonly requestThroughput: number;
  readonly outputThroughput: number;
  readonly totalTokenThroughput: number;
  readonly ttftMs: DistributionSummary;
  readonly tpotMs: DistributionSummary;
  readonly itlMs: DistributionSummary;
  readonly e2elMs: DistributionSummary;
  readonly numSteps: number;
  readonly numPreemptions: number;
  /** Prefix-cache hits over queries (fresh admissions), 0 when caching is off. */
  readonly prefixCacheHitRate: number;
  /** CPU seconds the simulation took (scheduler and bookkeeping). */
  readonly cpuSeconds: number;
  /** Mean measured wall time of `schedule()` + `updateFromOutput()` per step, microseconds. */
  readonly schedulerUsPerStep: number;
}

/**
 * A label like `v1+pc+cp` for an engine configuration.
 * @param e the configuration
 * @returns the label
 */
export function engineLabel(e: Pick<SimulatedEngine, 'engineVersion' | 'enablePrefixCaching' | 'enableChunkedPrefill'>): string {
  return `${e.engineVersion}${e.enablePrefixCaching ? '+pc' : ''}${e.engineVersion === 'v0' && e.enableChunkedPrefill ? '+cp' : ''}`;
}

function makeScheduler(e: SimulatedEngine, model: CostModel, clock: () => number): Scheduler {
  const numGpuBlocks = e.numGpuBlocks ?? Math.floor(model.kvCacheTokens / e.blockSize) + 1;
  const common = { maxModelLen: e.maxModelLen, maxNumSeqs: e.maxNumSeqs, blockSize: e.blockSize, numGpuBlocks, enablePrefixCaching: e.enablePrefixCaching, hashSeed: '0', prefixCachingHashAlgo: 'murmur3_128' as const, clock };
  if (e.engineVersion === 'v1') return new SchedulerV1({ ...common, maxNumBatchedTokens: e.maxNumBatchedTokens ?? 8192 });
  return new SchedulerV0({
    ...common,
    enableChunkedPrefill: e.enableChunkedPrefill,
    maxNumBatchedTokens: e.maxNumBatchedTokens ?? (e.enableChunkedPrefill ? 2048 : Math.max(e.maxModelLen, 2048)),
    numCpuBlocks: e.numCpuBlocks ?? 0,
  });
}

interface Track {
  readonly arrival: number;
  readonly promptLen: number;
  numOutput: number;
  readonly tokenTimes: number[];
}

/**
 * Replays a workload through the real scheduler and KV-cache manager of one engine version, with
 * {@link stepTime} standing in for the GPU: a virtual clock advances by the predicted duration of
 * each scheduled step, and every request that reaches the end of its known tokens samples one token
 * (EOS ignored, so each request generates exactly its `outputLen`).
 * @param requests the prompts and output lengths
 * @param arrivals arrival offset of each request, seconds, non-decreasing
 * @param engine scheduler settings
 * @param model GPU step cost coefficients
 * @param onStep called after every step with the number of finished requests
 * @returns predicted throughput, latency distributions, preemptions and cache hit rate
 */
export function simulate(requests: readonly BenchRequest[], arrivals: readonly number[], engine: SimulatedEngine, model: CostModel, onStep?: (finished: number) => void): SimulationResult {
  invariant(arrivals.length === requests.length, 'one arrival time per request');
  const cpuStart = process.cpuUsage();
  let now = 0;
  const sched = makeScheduler(engine, model, () => now);
  const tracks = new Map<RequestId, Track>();
  let next = 0;
  let finished = 0;
  let steps = 0;
  let schedWallMs = 0;
  while (next < requests.length || sched.hasUnfinishedRequests()) {
    for (; next < requests.length && arrivals[next]! <= now; next++) {
      const r = requests[next]!;
      const id = requestId(`sim-${next}`);
      tracks.set(id, { arrival: arrivals[next]!, promptLen: r.promptTokenIds.length, numOutput: 0, tokenTimes: [] });
      const req: EngineCoreRequest = { reqId: id, promptTokenIds: r.promptTokenIds, samplingParams: resolveSamplingParams({ maxTokens: r.outputLen, ignoreEos: true, temperature: 0 }), eosTokenId: null, arrivalTime: arrivals[next]! };
      sched.addRequest(req);
    }
    if (!sched.hasUnfinishedRequests()) {
      now = arrivals[next]!;
      continue;
    }
    const t0 = performance.now();
    const out = sched.schedule();
    schedWallMs += performance.now() - t0;
    if (out.totalNumScheduledTokens === 0) {
      // Nothing fits now (V0 waits for memory or its delay factor): idle until the next arrival.
      invariant(next < requests.length, `the ${engineLabel(engine)} scheduler made no progress with ${sched.getNumUnfinishedRequests()} requests left and no arrivals to come`);
      now = Math.max(now, arrivals[next]!);
      continue;
    }
    const work: StepRequestWork[] = [];
    const sampled = new Map<RequestId, readonly number[]>();
    const visit = (id: RequestId, computed: number, known: number): void => {
      const n = out.numScheduledTokens.get(id) ?? 0;
      if (n === 0) return;
      work.push({ numTokens: n, numComputedTokens: computed });
      if (computed + n >= known) sampled.set(id, [16 + (known % 1000)]);
    };
    for (const r of out.scheduledNewReqs) visit(r.reqId, r.numComputedTokens, r.promptTokenIds.length + r.outputTokenIds.length);
    for (const r of out.scheduledCachedReqs) {
      const t = tracks.get(r.reqId)!;
      visit(r.reqId, r.numComputedTokens, t.promptLen + t.numOutput);
    }
    now += stepTime(model, work);
    steps++;
    const runnerOutput: ModelRunnerOutput = { sampledTokenIds: sampled, logprobs: new Map(), promptLogprobs: new Map() };
    const t1 = performance.now();
    const outputs = sched.updateFromOutput(out, runnerOutput);
    schedWallMs += performance.now() - t1;
    for (const o of outputs) {
      const t = tracks.get(o.reqId);
      invariant(t !== undefined, `output for unknown request ${o.reqId}`);
      for (let k = 0; k < o.newTokenIds.length; k++) t.tokenTimes.push(now);
      t.numOutput += o.newTokenIds.length;
      if (o.finishReason !== null) finished++;
    }
    onStep?.(finished);
  }
  const ttft: number[] = [];
  const tpot: number[] = [];
  const itl: number[] = [];
  const e2el: number[] = [];
  let inputTokens = 0;
  let outputTokens = 0;
  for (const t of tracks.values()) {
    const times = t.tokenTimes;
    inputTokens += t.promptLen;
    outputTokens += times.length;
    if (times.length === 0) continue;
    ttft.push(times[0]! - t.arrival);
    e2el.push(times[times.length - 1]! - t.arrival);
    if (times.length > 1) tpot.push((times[times.length - 1]! - times[0]!) / (times.length - 1));
    for (let k = 1; k < times.length; k++) itl.push(times[k]! - times[k - 1]!);
  }
  const stats = sched.getStats();
  const duration = now - (arrivals[0] ?? 0);
  const cpu = process.cpuUsage(cpuStart);
  const perS = (x: number): number => (duration > 0 ? x / duration : 0);
  return {
    engine: engineLabel(engine),
    numRequests: requests.length,
    durationS: duration,
    requestThroughput: perS(finished),
    outputThroughput: perS(outputTokens),
    totalTokenThroughput: perS(inputTokens + outputTokens),
    ttftMs: scaleSummary(summarize(ttft), 1000),
    tpotMs: scaleSummary(summarize(tpot), 1000),
    itlMs: scaleSummary(summarize(itl), 1000),
    e2elMs: scaleSummary(summarize(e2el), 1000),
    numSteps: steps,
    numPreemptions: stats.numPreemptions,
    prefixCacheHitRate: stats.prefixCache.queries > 0 ? stats.prefixCache.hits / stats.prefixCache.queries : 0,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    schedulerUsPerStep: steps > 0 ? (schedWallMs * 1000) / steps : 0,
  };
}
