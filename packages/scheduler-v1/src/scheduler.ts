import {
  EngineCoreOutputBatch,
  InvalidArgumentError,
  invariant,
  isFinished,
  RequestStatus,
  VllmError,
  type EngineCoreRequest,
  type FinishedStatus,
  type KVCacheManager,
  type ModelRunnerOutput,
  type RequestId,
  type Scheduler as SchedulerContract,
  type SchedulerOutput,
  type SchedulerStats,
} from '@vllm-ts/core';
import { BlockHasher, KVCacheManager as PrefixCachingKVCacheManager } from '@vllm-ts/prefix-cache';
import { Request } from './request.js';
import { before, FcfsRequestQueue, PriorityRequestQueue, type RequestQueue } from './request-queue.js';
import { resolveSchedulerConfig, type ResolvedSchedulerConfig, type SchedulerOptions } from './scheduler-config.js';
import { refuseAsyncDrafts, validateRequest } from './scheduler-io.js';
import { SpecDecodingCounters } from './spec-decoding-counters.js';
import { StepBuilder, type DecodeSlots } from './step-builder.js';
import { TokenTails } from './token-tails.js';
import { applyRunnerOutput, type UpdateContext } from './update-step.js';
import { InFlightSteps } from './in-flight-steps.js';

const NO_TOKENS: readonly number[] = Object.freeze([]);
// Tokens a running request keeps in its TokenTails window before they are copied into its history
// (whole blocks, at least one): each copy touches cold memory (~1.4 µs), so fewer, larger copies.
const WINDOW_TOKENS = 256;
// Steps remembered for updateFromOutput; older ones (never updated) are forgotten.
const MAX_IN_FLIGHT = 8;

/**
 * The vLLM V1 scheduler: one token budget per step, spent first on running requests (a decode
 * token, drafts, or the next prefill chunk each) and then on waiting ones, with prefix-cache
 * lookups on admission. Chunked prefill is "fewer tokens this step"; preemption is by recompute.
 *
 * Per step (`schedule()`):
 * 1. Running pass, in admission order: each request gets `numTokensWithSpec - numComputedTokens`,
 *    capped by `longPrefillTokenThreshold`, the remaining budget and `maxModelLen - 1`. If its
 *    blocks cannot be allocated, the victim (FCFS: the last running; priority: the lowest
 *    priority, latest arrival) is preempted (blocks freed, outputs kept, back to the front of
 *    waiting) until they can, or the request itself was the victim; then the pass stops.
 * 2. Waiting pass, only if nothing was preempted: admit from the head with prefix hits until the
 *    budget, `maxNumSeqs` or memory runs out (the first failure stops the pass).
 * 3. Every scheduled request's `numComputedTokens` advances by its tokens right away, so a chunked
 *    prefill continues next step without waiting for outputs.
 *
 * `n > 1` is refused: the V1 front end fans such requests out into children (`childRequestId`).
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ maxModelLen: 4096, numGpuBlocks: 2048, maxNumBatchedTokens: 8192 });
 * scheduler.addRequest(request);
 * while (scheduler.hasUnfinishedRequests()) {
 *   const out = scheduler.schedule();
 *   const runnerOutput = await runner.execute(out);
 *   for (const o of scheduler.updateFromOutput(out, runnerOutput)) handle(o);
 * }
 * ```
 */
export class Scheduler implements SchedulerContract {
  /** This is the V1 algorithm. */
  readonly specificationVersion = 'v1' as const;
  /** The resolved configuration. */
  readonly config: ResolvedSchedulerConfig;
  /** The KV-cache manager in use. */
  readonly kvCacheManager: KVCacheManager;
  private readonly clock: () => number;
  private readonly hasher: BlockHasher;
  private readonly requests = new Map<RequestId, Request>();
  private readonly waiting: RequestQueue;
  private running: Request[] = [];
  private finishedReqIds = new Set<RequestId>();
  private seq = 0;
  private numPreemptions = 0;
  private readonly spec = new SpecDecodingCounters();
  private readonly inFlight = new InFlightSteps(MAX_IN_FLIGHT);
  private readonly updateContext: UpdateContext;
  private readonly tails: TokenTails;
  // The KV manager when it has a decode limit (the running pass's fast path), else null.
  private readonly decodeSlots: DecodeSlots | null;
  // The `samples` array of the last step applied (internal to the scheduler): the next step reuses it.
  private spareSamples: Uint8Array | null = null;

  /**
   * @param options budgets, policy, and the KV cache (a manager, or its size)
   * @throws InvalidArgumentError (`invalid_option`) naming a bad option
   */
  constructor(options: SchedulerOptions) {
    this.config = resolveSchedulerConfig(options);
    const c = this.config;
    this.kvCacheManager =
      options.kvCacheManager ??
      new PrefixCachingKVCacheManager({
        numBlocks: c.numGpuBlocks!,
        blockSize: c.blockSize,
        maxModelLen: c.maxModelLen,
        enablePrefixCaching: c.enablePrefixCaching,
      });
    const kv = this.kvCacheManager;
    this.decodeSlots = kv instanceof PrefixCachingKVCacheManager ? kv : null;
    this.hasher = new BlockHasher({ algorithm: c.prefixCachingHashAlgo, hashSeed: c.hashSeed });
    this.clock = options.clock ?? (() => performance.now() / 1000);
    this.tails = new TokenTails(c.blockSize, Math.min(c.maxNumSeqs, 1024), Math.ceil(WINDOW_TOKENS / c.blockSize));
    this.waiting = c.policy === 'priority' ? new PriorityRequestQueue() : new FcfsRequestQueue();
    this.updateContext = {
      maxModelLen: c.maxModelLen,
      spec: this.spec,
      asyncScheduling: c.asyncScheduling,
      release: (req) => this.release(req),
      unqueue: (req) => this.waiting.removeAll(new Set([req])),
    };
  }

  /**
   * Queues a request as WAITING.
   * @param request a validated engine-core request
   * @throws VllmError `duplicate_request_id` when the id is live; InvalidArgumentError
   *   (`invalid_request`) for `n > 1` or an empty prompt; VllmError `prompt_too_long`
   */
  addRequest(request: EngineCoreRequest): void {
    if (this.requests.has(request.reqId)) {
      throw new VllmError('duplicate_request_id', `[scheduler-v1] request id ${JSON.stringify(request.reqId)} is already live; ids must be unique among live requests`);
    }
    const maxTokens = validateRequest(request, this.config.maxModelLen);
    const req = new Request(request, maxTokens, this.seq++, this.hasher, this.config.blockSize);
    req.recordEvent('queued', this.clock());
    this.requests.set(req.reqId, req);
    this.waiting.add(req);
  }

  /**
   * Decides the next step within the budgets, allocating blocks, preempting when memory runs out
   * and advancing each scheduled request's `numComputedTokens`.
   * @returns what the runner computes this step
   */
  schedule(): SchedulerOutput {
    const c = this.config;
    const kv = this.kvCacheManager;
    const threshold = c.longPrefillTokenThreshold;
    const step = new StepBuilder(c.maxNumBatchedTokens, Math.min(this.running.length + this.waiting.length, c.maxNumSeqs), c.asyncScheduling, this.spareSamples);
    this.spareSamples = null;
    const lookahead = c.numLookaheadTokens > 0 ? { numLookaheadTokens: c.numLookaheadTokens } : undefined;

    // 1. Running requests, in admission order; runs of plain decode steps go through the fast path.
    const decodeSlots = this.decodeSlots;
    let i = 0;
    while (i < this.running.length && step.budget > 0) {
      if (decodeSlots !== null && lookahead === undefined) {
        i = step.addDecodes(this.running, i, c.maxModelLen, decodeSlots);
        if (i >= this.running.length || step.budget <= 0) break;
      }
      const req = this.running[i]!;
      const placeholders = req.numOutputPlaceholders;
      // In-flight tokens certain to reach maxTokens (maxModelLen is capped below): no extra step.
      if (placeholders > 0 && req.numTokens + placeholders >= req.maxTokensEnd) {
        i++;
        continue;
      }
      let want = req.numTokensWithSpec + placeholders - req.numComputedTokens;
      if (threshold > 0 && want > threshold) want = threshold;
      if (want > step.budget) want = step.budget;
      if (want > c.maxModelLen - 1 - req.numComputedTokens) want = c.maxModelLen - 1 - req.numComputedTokens;
      if (want <= 0) {
        // NOTE: continue, not break: later requests may still have work (vLLM does the same).
        i++;
        continue;
      }
      let blocks = kv.allocateSlots(req, want, lookahead);
      while (blocks === null) {
        const victim = this.pickVictim();
        if (c.policy === 'priority') {
          const at = this.running.indexOf(victim);
          this.running.splice(at, 1);
          if (at < i) i--;
          step.removeRunning(victim);
        } else {
          this.running.pop();
        }
        this.preempt(victim);
        step.preempted.add(victim.reqId);
        if (victim === req) break;
        blocks = kv.allocateSlots(req, want, lookahead);
      }
      if (blocks === null) break;
      step.addRunning(req, want, blocks);
      i++;
    }

    // 2. Waiting requests, only when nobody was preempted in this step.
    if (step.preempted.size === 0) {
      while (this.waiting.length > 0 && step.budget > 0 && this.running.length < c.maxNumSeqs) {
        const req = this.waiting.peek()!;
        // Preempted with a step in flight: it can recompute only once it knows all its tokens.
        if (req.numOutputPlaceholders > 0) break;
        const hit = kv.getComputedBlocks(req);
        let want = req.numTokens - hit.numHitTokens;
        if (threshold > 0 && want > threshold) want = threshold;
        if (want > step.budget) want = step.budget;
        const blocks = kv.allocateSlots(req, want, { newComputedBlocks: hit.blocks, numNewComputedTokens: hit.numHitTokens });
        if (blocks === null) break;
        this.waiting.pop();
        this.running.push(req);
        const resumed = req.status === RequestStatus.PREEMPTED;
        req.status = RequestStatus.RUNNING;
        req.attachTail(this.tails);
        req.numComputedTokens = hit.numHitTokens;
        if (req.numCachedTokens < 0) req.numCachedTokens = hit.numHitTokens;
        req.recordEvent('scheduled', this.clock());
        step.addWaiting(req, want, resumed, kv);
      }
    }
    invariant(step.budget >= 0 && this.running.length <= c.maxNumSeqs, 'a step stays within its token budget and maxNumSeqs');

    const out = step.build(c.maxNumBatchedTokens, this.finishedReqIds);
    this.finishedReqIds = new Set();
    this.inFlight.push(out, { batch: step.batch, samples: step.samples });
    return out;
  }

  /**
   * Applies the runner's results: corrects for rejected drafts, appends sampled tokens, checks
   * stop conditions (truncating a multi-token step at the stop) and frees finished requests.
   * Requests finished since the step was scheduled (stopped in an earlier update, aborted) are
   * skipped, their tokens dropped.
   *
   * Under async scheduling the steps' outputs must come in the order the steps were scheduled
   * (an output skipped is never applied). A request stopped here frees its blocks at once, though
   * a step scheduled after this one may still write its KV: runners execute steps in submission
   * order on one device stream, so a later step that reuses the blocks runs after that write.
   * @param schedulerOutput the step's output from {@link schedule}
   * @param runnerOutput what the runner returned for it
   * @returns one row per request with news, in batch order
   * @throws InvalidArgumentError (`invalid_runner_output`) when tokens come back for a prefill
   *   chunk, more than a request's drafts + 1, or (async scheduling) none for a step that samples
   */
  updateFromOutput(schedulerOutput: SchedulerOutput, runnerOutput: ModelRunnerOutput): EngineCoreOutputBatch {
    const step = this.inFlight.take(schedulerOutput);
    const batch = step === null ? this.lookUp(schedulerOutput) : step.batch;
    const outputs = new EngineCoreOutputBatch(batch.length);
    const numFinished = applyRunnerOutput(batch, step === null ? null : step.samples, schedulerOutput, runnerOutput, this.updateContext, outputs);
    if (numFinished > 0) this.running = this.running.filter((r) => r.status === RequestStatus.RUNNING);
    // InFlightSteps.take forgot this step, so its samples array has no other reader.
    if (step !== null) this.spareSamples = step.samples;
    return outputs;
  }

  /**
   * Records draft tokens proposed for the next step. Drafts for unknown, finished or still
   * prefilling requests are ignored.
   * @param draftTokenIds drafts per request
   * @throws InvalidArgumentError (`unsupported_with_async_scheduling`) when drafts are given under
   *   `asyncScheduling` (speculative decoding is not supported with it, as in vLLM 0.10-0.11)
   */
  updateDraftTokenIds(draftTokenIds: ReadonlyMap<RequestId, readonly number[]>): void {
    if (this.config.asyncScheduling && draftTokenIds.size > 0) refuseAsyncDrafts(draftTokenIds.size);
    for (const [reqId, drafts] of draftTokenIds) {
      const req = this.requests.get(reqId);
      if (req === undefined || req.status !== RequestStatus.RUNNING || req.isPrefillChunk) continue;
      req.specTokenIds = drafts;
    }
  }

  /**
   * Finishes requests from outside (abort, stop string): removes them from the queues and frees
   * their blocks; the runner hears of them in the next step's `finishedReqIds`.
   * Unknown and already-finished ids are ignored.
   * @param reqIds the requests, or null for every live request
   * @param status the finished status to give them
   * @throws InvalidArgumentError (`invalid_argument`) when `status` is not a finished status
   */
  finishRequests(reqIds: Iterable<RequestId> | null, status: FinishedStatus): void {
    if (!isFinished(status)) throw new InvalidArgumentError('invalid_argument', 'Scheduler.finishRequests', 'status', 'a finished RequestStatus', status);
    const targets = new Set<Request>();
    for (const id of reqIds ?? [...this.requests.keys()]) {
      const req = this.requests.get(id);
      if (req !== undefined) targets.add(req);
    }
    if (targets.size === 0) return;
    this.running = this.running.filter((r) => !targets.has(r));
    this.waiting.removeAll(targets);
    for (const req of targets) {
      req.status = status;
      this.release(req);
    }
  }

  /** True while any request is waiting or running. */
  hasUnfinishedRequests(): boolean {
    return this.requests.size > 0;
  }

  /** Number of live (waiting or running) requests. */
  getNumUnfinishedRequests(): number {
    return this.requests.size;
  }

  /** Current gauges and cumulative counters. */
  getStats(): SchedulerStats {
    return {
      numRunningReqs: this.running.length,
      numWaitingReqs: this.waiting.length,
      numSwappedReqs: 0,
      kvCacheUsage: this.kvCacheManager.usage,
      prefixCache: this.kvCacheManager.prefixCacheStats,
      numPreemptions: this.numPreemptions,
      specDecoding: this.spec.snapshot(),
    };
  }

  /**
   * Drops the prefix cache.
   * @returns false, with nothing changed, while requests hold blocks
   */
  resetPrefixCache(): boolean {
    return this.kvCacheManager.resetPrefixCache();
  }

  /**
   * Ids of the running requests, in admission order (for tests and debugging).
   */
  getRunningIds(): RequestId[] {
    return this.running.map((r) => r.reqId);
  }

  /**
   * Ids of the waiting requests, next to be admitted first (for tests and debugging).
   */
  getWaitingIds(): RequestId[] {
    return this.waiting.toArray().map((r) => r.reqId);
  }

  private lookUp(out: SchedulerOutput): Request[] {
    const batch: Request[] = [];
    for (const id of out.numScheduledTokens.keys()) {
      const req = this.requests.get(id);
      if (req !== undefined) batch.push(req);
    }
    return batch;
  }

  private pickVictim(): Request {
    if (this.config.policy === 'fcfs') return this.running[this.running.length - 1]!;
    let victim = this.running[0]!;
    for (let k = 1; k < this.running.length; k++) if (before(victim, this.running[k]!)) victim = this.running[k]!;
    return victim;
  }

  // Keeps numOutputPlaceholders: the in-flight step's token is still appended when it arrives.
  private preempt(req: Request): void {
    this.kvCacheManager.free(req);
    req.detachTail();
    req.status = RequestStatus.PREEMPTED;
    req.numComputedTokens = 0;
    req.specTokenIds = NO_TOKENS;
    req.numPreemptions++;
    this.numPreemptions++;
    req.recordEvent('preempted', this.clock());
    this.waiting.prepend(req);
  }

  private release(req: Request): void {
    this.kvCacheManager.free(req);
    req.detachTail();
    this.requests.delete(req.reqId);
    this.finishedReqIds.add(req.reqId);
  }
}
