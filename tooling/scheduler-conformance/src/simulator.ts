import {
  requestId,
  RequestStatus,
  resolveSamplingParams,
  VllmError,
  type EngineCoreRequest,
  type FinishReason,
  type ModelRunnerOutput,
  type RequestId,
  type SamplingParamsData,
  type SchedulerOutput,
} from '@vllm-ts/core';
import { DEFAULT_FACTORY_CONFIG, seededRandom, type SchedulerFactory, type SchedulerFactoryConfig } from './scheduler-factory.js';
import { ScriptedRunner } from './scripted-runner.js';

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  /** Requests to send over the run. */
  readonly numRequests: number;
  /** Seed of everything random (prompts, scripts, arrivals, aborts). */
  readonly seed: number;
  /** Scheduler settings (defaults: {@link DEFAULT_FACTORY_CONFIG}). */
  readonly config?: Partial<SchedulerFactoryConfig>;
  /** Prompt length range, inclusive. Default [1, 40]. */
  readonly promptLen?: readonly [number, number];
  /** `maxTokens` range, inclusive. Default [1, 30]. */
  readonly maxTokens?: readonly [number, number];
  /** Mean arrivals per step. Default 1. */
  readonly arrivalsPerStep?: number;
  /** Chance per step that one live request is aborted. Default 0.02. */
  readonly abortRate?: number;
  /** Drafts proposed per decoding request per step (0 = no speculative decoding). Default 0. */
  readonly numSpeculativeTokens?: number;
  /** Distinct shared prompt prefixes (prefix-cache traffic). Default 4. */
  readonly numSharedPrefixes?: number;
  /** Priorities drawn from [0, this) under the priority policy. Default 3. */
  readonly numPriorities?: number;
  /** Fail when the run takes more steps than this. Default 200 × numRequests. */
  readonly maxSteps?: number;
  /**
   * Steps in flight (default 1, synchronous). With d > 1 the loop is async scheduling's: step N+d-1
   * is scheduled (and run: the runner executes steps in submission order) before the update of
   * step N, so the scheduler must be built with async scheduling on.
   */
  readonly pipelineDepth?: number;
}

/** What a simulation observed. */
export interface SimulationReport {
  readonly steps: number;
  readonly numFinished: number;
  readonly numAborted: number;
  readonly numPreemptions: number;
  readonly numScheduledTokens: number;
  /** Prefix-cache hits / queries over fresh admissions. */
  readonly prefixHitRate: number;
  /** Most steps any request waited from arrival to its first token. */
  readonly maxStepsToFirstToken: number;
  /** Steps that scheduled the whole budget. */
  readonly numFullSteps: number;
  /** Output tokens of every request that finished (not aborted), by id. */
  readonly finishedTokens: ReadonlyMap<RequestId, readonly number[]>;
}

interface Sim {
  readonly req: EngineCoreRequest;
  readonly arrivalStep: number;
  readonly expected: number[];
  readonly expectedReason: FinishReason;
  readonly got: number[];
  reason: FinishReason | null;
  firstTokenStep: number;
}

const VOCAB = 48;
const EOS = 0;

/**
 * Drives a scheduler with random traffic against a {@link ScriptedRunner}: requests arrive over
 * time (shared prefixes, stop tokens, EOS, min tokens, priorities), some are aborted, drafts are
 * proposed when asked. After every step it checks the budgets, the contract (through the runner)
 * and the gauges; at the end, that every request finished with exactly the scripted tokens and
 * finish reason (aborted ones with a prefix of them), that no block is held, and that the run
 * ended within `maxSteps` (no starvation, no livelock).
 *
 * @param create builds the scheduler under test
 * @param options traffic shape and seed
 * @returns counters of the run
 * @throws VllmError (`conformance_failure` / `contract_violation`) describing the first violation
 * @example
 * ```ts
 * runSimulation((c) => new Scheduler({ ...c }), { numRequests: 2000, seed: 1, config: { numGpuBlocks: 48 } });
 * ```
 */
export function runSimulation(create: SchedulerFactory, options: SimulationOptions): SimulationReport {
  const cfg: SchedulerFactoryConfig = { ...DEFAULT_FACTORY_CONFIG, ...options.config };
  const rand = seededRandom(options.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const [pMin, pMax] = options.promptLen ?? [1, 40];
  const [tMin, tMax] = options.maxTokens ?? [1, 30];
  const numDrafts = options.numSpeculativeTokens ?? 0;
  const abortRate = options.abortRate ?? 0.02;
  const rate = options.arrivalsPerStep ?? 1;
  const maxSteps = options.maxSteps ?? 200 * options.numRequests;
  const depth = options.pipelineDepth ?? 1;
  if (!Number.isInteger(depth) || depth < 1) fail(`pipelineDepth must be an integer >= 1, got ${depth}`);
  const prefixes = Array.from({ length: options.numSharedPrefixes ?? 4 }, () => Array.from({ length: int(4, 24) }, () => int(1, VOCAB - 1)));
  const seedBase = options.seed * 7919;
  const script = (id: RequestId, k: number): number => scriptToken(seedBase, id, k);

  const scheduler = create(cfg);
  const runner = new ScriptedRunner({ numBlocks: cfg.numGpuBlocks, blockSize: cfg.blockSize, script });
  const sims = new Map<RequestId, Sim>();
  const live = new Set<RequestId>();
  let sent = 0;
  let step = 0;
  let scheduledTokens = 0;
  let fullSteps = 0;
  let emptySteps = 0;
  let numAborted = 0;
  // Steps scheduled and run, not yet updated, oldest first.
  const inFlight: { out: SchedulerOutput; ran: ModelRunnerOutput }[] = [];
  const update = (out: SchedulerOutput, ran: ModelRunnerOutput): void => {
    for (const o of scheduler.updateFromOutput(out, ran)) {
      const sim = sims.get(o.reqId);
      if (sim === undefined || !live.has(o.reqId)) fail(`output for ${o.reqId}, which is not live`);
      if (o.newTokenIds.length > 0 && sim.firstTokenStep < 0) sim.firstTokenStep = step;
      sim.got.push(...o.newTokenIds);
      if (o.finishReason !== null) {
        sim.reason = o.finishReason;
        live.delete(o.reqId);
        const stopReason = o.finishReason === 'stop' && sim.got.at(-1) !== EOS ? sim.got.at(-1) : null;
        if (o.stopReason !== stopReason) fail(`${o.reqId} stopped with stopReason ${o.stopReason}, expected ${stopReason}`);
      }
    }
  };

  while (sent < options.numRequests || scheduler.hasUnfinishedRequests()) {
    if (++step > maxSteps) fail(`not done after ${maxSteps} steps: ${live.size} live requests (starvation or livelock)`);
    // Arrivals.
    let arrivals = 0;
    while (sent + arrivals < options.numRequests && rand() < rate / (1 + arrivals)) arrivals++;
    for (let a = 0; a < arrivals; a++) {
      const sim = makeRequest(sent++, step, cfg, rand, int, prefixes, pMin, pMax, tMin, tMax, options.numPriorities ?? 3, script);
      sims.set(sim.req.reqId, sim);
      live.add(sim.req.reqId);
      scheduler.addRequest(sim.req);
    }
    // Aborts (between steps, as a client disconnect would).
    if (live.size > 0 && rand() < abortRate) {
      const ids = [...live];
      const id = ids[Math.floor(rand() * ids.length)]!;
      scheduler.finishRequests([id], RequestStatus.FINISHED_ABORTED);
      scheduler.finishRequests([id], RequestStatus.FINISHED_ABORTED); // idempotent
      sims.get(id)!.reason = 'abort';
      live.delete(id);
      numAborted++;
    }

    const out = scheduler.schedule();
    if (out.totalNumScheduledTokens > cfg.maxNumBatchedTokens) fail(`step ${step} scheduled ${out.totalNumScheduledTokens} tokens, budget ${cfg.maxNumBatchedTokens}`);
    for (const [id, n] of out.numScheduledTokens) {
      if (!live.has(id)) fail(`step ${step} scheduled ${id}, which is not live`);
      if (cfg.longPrefillTokenThreshold > 0 && n > cfg.longPrefillTokenThreshold) fail(`${id} got ${n} tokens, threshold ${cfg.longPrefillTokenThreshold}`);
    }
    scheduledTokens += out.totalNumScheduledTokens;
    if (out.totalNumScheduledTokens === cfg.maxNumBatchedTokens) fullSteps++;
    // A request preempted with a token in flight waits for it (at most depth - 1 steps).
    emptySteps = out.totalNumScheduledTokens === 0 && scheduler.hasUnfinishedRequests() ? emptySteps + 1 : 0;
    if (emptySteps > depth + 1) fail(`step ${step}: nothing scheduled for ${emptySteps} steps with ${live.size} live requests`);

    inFlight.push({ out, ran: runner.execute(out) });
    if (inFlight.length === depth) {
      const oldest = inFlight.shift()!;
      update(oldest.out, oldest.ran);
    }
    const stats = scheduler.getStats();
    if (stats.numRunningReqs > cfg.maxNumSeqs) fail(`${stats.numRunningReqs} running, maxNumSeqs ${cfg.maxNumSeqs}`);
    if (stats.numRunningReqs + stats.numWaitingReqs + stats.numSwappedReqs !== live.size) {
      fail(`step ${step}: ${stats.numRunningReqs} running + ${stats.numWaitingReqs} waiting + ${stats.numSwappedReqs} swapped, but ${live.size} live`);
    }
    if (!(stats.kvCacheUsage >= 0 && stats.kvCacheUsage <= 1)) fail(`kvCacheUsage ${stats.kvCacheUsage}`);
    if (numDrafts > 0) scheduler.updateDraftTokenIds(proposeDrafts(live, runner, sims, numDrafts, rand, script));
  }
  // The steps still in flight hold only finished requests: their tokens must be dropped.
  for (const f of inFlight.splice(0)) update(f.out, f.ran);

  let maxWait = 0;
  const finishedTokens = new Map<RequestId, readonly number[]>();
  for (const sim of sims.values()) {
    const id = sim.req.reqId;
    if (sim.reason === 'abort') {
      if (sim.got.join() !== sim.expected.slice(0, sim.got.length).join()) fail(`aborted ${id} got tokens that are not a prefix of its script`);
      continue;
    }
    if (sim.got.join() !== sim.expected.join()) fail(`${id} got [${sim.got.join()}], expected [${sim.expected.join()}]`);
    if (sim.reason !== sim.expectedReason) fail(`${id} finished with ${sim.reason}, expected ${sim.expectedReason}`);
    finishedTokens.set(id, sim.got);
    maxWait = Math.max(maxWait, sim.firstTokenStep - sim.arrivalStep);
  }
  const stats = scheduler.getStats();
  if (stats.kvCacheUsage !== 0) fail(`blocks leaked: kvCacheUsage ${stats.kvCacheUsage} with no live request`);
  if (scheduler.getNumUnfinishedRequests() !== 0) fail('requests left after the run');
  const pc = stats.prefixCache;
  return {
    steps: step,
    numFinished: sims.size - numAborted,
    numAborted,
    numPreemptions: stats.numPreemptions,
    numScheduledTokens: scheduledTokens,
    prefixHitRate: pc.queries === 0 ? 0 : pc.hits / pc.queries,
    maxStepsToFirstToken: maxWait,
    numFullSteps: fullSteps,
    finishedTokens,
  };
}

function makeRequest(
  index: number,
  step: number,
  cfg: SchedulerFactoryConfig,
  rand: () => number,
  int: (lo: number, hi: number) => number,
  prefixes: number[][],
  pMin: number,
  pMax: number,
  tMin: number,
  tMax: number,
  numPriorities: number,
  script: (id: RequestId, k: number) => number,
): Sim {
  const reqId = requestId(`req-${index}`);
  const len = Math.min(int(pMin, pMax), cfg.maxModelLen);
  const prompt: number[] = rand() < 0.6 ? [...prefixes[Math.floor(rand() * prefixes.length)]!] : [];
  while (prompt.length < len) prompt.push(int(1, VOCAB - 1));
  prompt.length = len;
  const ignoreEos = rand() < 0.1;
  const params = resolveSamplingParams({
    maxTokens: int(tMin, tMax),
    minTokens: rand() < 0.2 ? int(0, tMin) : 0,
    stopTokenIds: rand() < 0.3 ? [int(1, VOCAB - 1)] : [],
    ignoreEos,
    temperature: 0,
  });
  const { expected, reason } = expectedOutput(reqId, params, len, cfg.maxModelLen, ignoreEos ? null : EOS, script);
  const req: EngineCoreRequest = {
    reqId,
    promptTokenIds: prompt,
    samplingParams: params,
    eosTokenId: EOS,
    arrivalTime: step,
    priority: cfg.policy === 'priority' ? int(0, numPriorities - 1) : 0,
  };
  return { req, arrivalStep: step, expected, expectedReason: reason, got: [], reason: null, firstTokenStep: -1 };
}

/** The oracle: the outputs a request must end with, by the stop rules applied to its script. */
function expectedOutput(
  id: RequestId,
  p: SamplingParamsData,
  promptLen: number,
  maxModelLen: number,
  eos: number | null,
  script: (id: RequestId, k: number) => number,
): { expected: number[]; reason: FinishReason } {
  const out: number[] = [];
  const maxTokens = Math.min(p.maxTokens ?? Infinity, maxModelLen - promptLen);
  for (;;) {
    const t = script(id, out.length);
    out.push(t);
    if (out.length >= p.minTokens) {
      if (t === eos || p.stopTokenIds.includes(t)) return { expected: out, reason: 'stop' };
      if (out.length >= maxTokens) return { expected: out, reason: 'length' };
    }
    if (promptLen + out.length >= maxModelLen) return { expected: out, reason: 'length' };
  }
}

function proposeDrafts(
  live: ReadonlySet<RequestId>,
  runner: ScriptedRunner,
  sims: ReadonlyMap<RequestId, Sim>,
  k: number,
  rand: () => number,
  script: (id: RequestId, k: number) => number,
): Map<RequestId, number[]> {
  const drafts = new Map<RequestId, number[]>();
  for (const id of live) {
    if (!runner.isDecoding(id) || rand() < 0.3) continue;
    const base = sims.get(id)!.got.length;
    const good = Math.floor(rand() * (k + 1));
    drafts.set(id, Array.from({ length: k }, (_, j) => (j < good ? script(id, base + j) : (script(id, base + j) + 1) % VOCAB)));
  }
  return drafts;
}

/** A pure hash of (seed, request, output index) onto the vocabulary; EOS about 1 in 48. */
function scriptToken(seed: number, id: RequestId, k: number): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ k, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % VOCAB;
}

function fail(message: string): never {
  throw new VllmError('conformance_failure', `[scheduler-conformance] ${message}`);
}
