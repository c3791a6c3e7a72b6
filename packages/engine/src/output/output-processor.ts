import { VllmError, childRequestId, requestId as toRequestId } from '@vllm-ts/core';
import type { EngineCoreOutputExtras, RequestId, SamplingParamsData, TokenLogprobs } from '@vllm-ts/core';
import type { EngineCoreOutputs } from '../core/engine-core-outputs.js';
import { nowSeconds } from '../core/clock.js';
import type { FinishedRequestStats, IterationStats, OutputKind, RequestOutput } from './request-output.js';
import { SequenceState } from './sequence-state.js';
import type { DetokenizerFactory } from './sequence-state.js';

/** A request as the output processor registers it. */
export interface OutputRequest {
  readonly requestId: string;
  readonly prompt: string | null;
  readonly promptTokenIds: readonly number[];
  /** The request's settings (`n` sequences; child `i` samples with `seed + i`). */
  readonly params: SamplingParamsData;
  readonly outputKind: OutputKind;
  /** Seconds on `nowSeconds()`'s clock. */
  readonly arrivalTime: number;
  /** `maxTokens` as the caller gave it (null when the engine filled it in). */
  readonly maxTokensParam: number | null;
}

/** What {@link OutputProcessor.processOutputs} returns for one engine step. */
export interface ProcessedOutputs {
  /** One output per request with something to report, in the order their news arrived. */
  readonly requestOutputs: RequestOutput[];
  /** Sequences a stop string ended while the engine core still runs them: abort them there. */
  readonly reqsToAbort: RequestId[];
  readonly iterationStats: IterationStats;
}

/** A child sequence of a request: its engine id and its own settings. */
export interface ChildRequest {
  readonly reqId: RequestId;
  readonly params: SamplingParamsData;
}

/**
 * The sequences of a request as the engine core sees them: the request itself when `n == 1`,
 * otherwise `n` children named by `childRequestId` with one sequence each and seeds `seed + i`.
 *
 * @param requestId the caller's id
 * @param params the request's settings
 * @returns the children, in index order
 */
export function fanOut(requestId: string, params: SamplingParamsData): ChildRequest[] {
  if (params.n === 1) return [{ reqId: toRequestId(requestId), params }];
  return Array.from({ length: params.n }, (_, i) => ({
    reqId: childRequestId(toRequestId(requestId), i),
    // NOTE: the prompt is the same for every child: only the first computes its logprobs.
    params: { ...params, n: 1, seed: params.seed === null ? null : params.seed + i, promptLogprobs: i === 0 ? params.promptLogprobs : null },
  }));
}

interface ParentState {
  readonly req: OutputRequest;
  readonly children: SequenceState[];
  promptLogprobs: (TokenLogprobs | null)[] | null;
  numCachedTokens: number;
  /** The last `processOutputs` call that touched it (dedups `touched` without a scan). */
  lastTouchedStep: number;
}

/**
 * The front end's half of the engine: turns engine-core outputs into {@link RequestOutput}s —
 * incremental detokenization, stop strings (with streaming hold-back), logprobs, `n > 1`
 * aggregation, output kinds — and measures the per-step and per-request metrics.
 */
export class OutputProcessor {
  private readonly parents = new Map<string, ParentState>();
  private readonly sequences = new Map<RequestId, { parent: ParentState; seq: SequenceState }>();
  private readonly createDetokenizer: DetokenizerFactory;
  private pendingFinished: FinishedRequestStats[] = [];
  private stepCount = 0;

  /** @param createDetokenizer makes a streaming detokenizer per sequence */
  constructor(createDetokenizer: DetokenizerFactory) {
    this.createDetokenizer = createDetokenizer;
  }

  /** Requests still producing output. */
  get numUnfinishedRequests(): number {
    return this.parents.size;
  }

  /** Ids of the live requests. */
  liveRequestIds(): IterableIterator<string> {
    return this.parents.keys();
  }

  /**
   * True when `requestId` is live here.
   * @param requestId the caller's id
   */
  has(requestId: string): boolean {
    return this.parents.has(requestId);
  }

  /**
   * Registers a request before it is sent to the engine core.
   * @param req the request
   * @returns its sequences as the engine core will report them
   * @throws VllmError `duplicate_request_id` when the id is live
   */
  addRequest(req: OutputRequest): ChildRequest[] {
    if (this.parents.has(req.requestId)) {
      throw new VllmError('duplicate_request_id', `request id ${JSON.stringify(req.requestId)} is already in use by a live request`);
    }
    const children = fanOut(req.requestId, req.params);
    const taken = children.find((c) => this.sequences.has(c.reqId));
    if (taken !== undefined) {
      throw new VllmError('duplicate_request_id', `request id ${JSON.stringify(taken.reqId)} is already in use by a live request (or one of its n > 1 samples)`);
    }
    const parent: ParentState = {
      req,
      children: [],
      promptLogprobs: req.params.promptLogprobs === null ? null : Array.from({ length: req.promptTokenIds.length }, () => null),
      numCachedTokens: 0,
      lastTouchedStep: -1,
    };
    children.forEach((child, index) => {
      const seq = new SequenceState(
        child.reqId,
        index,
        child.params,
        this.createDetokenizer({ skipSpecialTokens: child.params.skipSpecialTokens, promptTokenIds: req.promptTokenIds }),
        req.arrivalTime,
      );
      parent.children.push(seq);
      this.sequences.set(child.reqId, { parent, seq });
    });
    this.parents.set(req.requestId, parent);
    return children;
  }

  /**
   * Applies one engine step's outputs.
   * @param batch the step's outputs, stats and timestamp
   */
  processOutputs(batch: EngineCoreOutputs): ProcessedOutputs {
    const now = nowSeconds();
    this.stepCount++;
    const touched: ParentState[] = [];
    const reqsToAbort: RequestId[] = [];
    const ttfts: number[] = [];
    const itls: number[] = [];
    let numPromptTokens = 0;
    let numGenerationTokens = 0;
    const finished = this.pendingFinished;
    this.pendingFinished = [];
    const cols = batch.outputs;
    const { reqIds, offsets, tokenIds, numCachedTokens, extras } = cols;
    let e = 0;
    for (let row = 0; row < cols.length; row++) {
      let x: EngineCoreOutputExtras | null = null;
      if (e < extras.length && extras[e]!.row === row) x = extras[e++]!;
      const entry = this.sequences.get(reqIds[row]!);
      if (entry === undefined) continue; // aborted here while the step ran
      const { parent, seq } = entry;
      if (x !== null) this.recordEvents(seq, x);
      const start = offsets[row]!;
      const numNew = offsets[row + 1]! - start;
      if (numNew > 0) {
        const t = seq.times;
        if (t.firstTokenTs === null) {
          ttfts.push(now - t.arrivalTime);
          numPromptTokens += parent.req.promptTokenIds.length;
          t.firstTokenTs = batch.timestamp;
        } else if (t.lastTokenTs !== null) {
          itls.push(batch.timestamp - t.lastTokenTs);
        }
        t.lastTokenTs = batch.timestamp;
        numGenerationTokens += numNew;
      }
      if (seq.index === 0) {
        parent.numCachedTokens = numCachedTokens[row]!;
        const chunk = x === null ? null : x.newPromptLogprobs;
        if (chunk !== null && parent.promptLogprobs !== null) {
          const { start: first, entries } = chunk;
          entries.forEach((lp, i) => {
            if (first + i < parent.promptLogprobs!.length) parent.promptLogprobs![first + i] = lp;
          });
        }
      }
      if (seq.update(numNew === 1 ? [tokenIds[start]!] : cols.tokensOf(row), x)) reqsToAbort.push(seq.reqId);
      if (seq.isFinished) {
        finished.push(this.finishedStats(parent, seq, now));
        this.sequences.delete(seq.reqId);
      }
      if (parent.lastTouchedStep !== this.stepCount) {
        parent.lastTouchedStep = this.stepCount;
        touched.push(parent);
      }
    }
    const requestOutputs: RequestOutput[] = [];
    for (const parent of touched) {
      const ro = this.makeOutput(parent);
      if (ro !== null) requestOutputs.push(ro);
    }
    return {
      requestOutputs,
      reqsToAbort,
      iterationStats: {
        schedulerStats: batch.schedulerStats,
        numPromptTokens,
        numGenerationTokens,
        timeToFirstTokens: ttfts,
        interTokenLatencies: itls,
        finishedRequests: finished,
        specDecoding: batch.schedulerStats.specDecoding,
      },
    };
  }

  /**
   * Ends requests from the front end (abort or error): every unfinished sequence gets `reason`.
   * Unknown ids are ignored.
   * @param requestIds the callers' ids
   * @param reason finish reason to report
   * @returns the engine-core ids to abort, and each request's final output
   */
  finishRequests(requestIds: Iterable<string>, reason: 'abort' | 'error'): { reqIds: RequestId[]; outputs: RequestOutput[] } {
    const reqIds: RequestId[] = [];
    const outputs: RequestOutput[] = [];
    const now = nowSeconds();
    for (const id of requestIds) {
      const parent = this.parents.get(id);
      if (parent === undefined) continue;
      for (const seq of parent.children) {
        if (seq.isFinished) continue;
        seq.finish(reason);
        reqIds.push(seq.reqId);
        this.sequences.delete(seq.reqId);
        this.pendingFinished.push(this.finishedStats(parent, seq, now));
      }
      const ro = this.makeOutput(parent);
      if (ro !== null) outputs.push(ro);
    }
    return { reqIds, outputs };
  }

  private recordEvents(seq: SequenceState, out: EngineCoreOutputExtras): void {
    for (const ev of out.events) {
      if (ev.type === 'queued') seq.times.queuedTs ??= ev.timestamp;
      else if (ev.type === 'scheduled') seq.times.scheduledTs ??= ev.timestamp;
      else seq.numPreemptions++;
    }
  }

  private finishedStats(parent: ParentState, seq: SequenceState, now: number): FinishedRequestStats {
    const t = seq.times;
    const scheduled = t.scheduledTs ?? t.firstTokenTs ?? now;
    const first = t.firstTokenTs ?? scheduled;
    const last = t.lastTokenTs ?? first;
    return {
      finishReason: seq.finishReason ?? 'abort',
      e2eLatency: now - t.arrivalTime,
      queueTime: t.queuedTs === null ? 0 : Math.max(0, scheduled - t.queuedTs),
      prefillTime: Math.max(0, first - scheduled),
      decodeTime: Math.max(0, last - first),
      inferenceTime: Math.max(0, last - scheduled),
      numPromptTokens: parent.req.promptTokenIds.length,
      numGenerationTokens: seq.tokenIds.length,
      maxTokensParam: parent.req.maxTokensParam,
      n: parent.req.params.n,
    };
  }

  /** Builds the request's output for this step per its kind; drops the request once all sequences finished. */
  private makeOutput(parent: ParentState): RequestOutput | null {
    const finished = parent.children.every((s) => s.isFinished);
    if (finished) this.parents.delete(parent.req.requestId);
    const kind = parent.req.outputKind;
    if (kind === 'final' && !finished) return null;
    return {
      requestId: parent.req.requestId,
      prompt: parent.req.prompt,
      promptTokenIds: parent.req.promptTokenIds,
      promptLogprobs: parent.promptLogprobs === null ? null : parent.promptLogprobs.slice(),
      outputs: parent.children.filter((s) => kind !== 'delta' || s.hasNews).map((s) => s.completion(kind)),
      finished,
      numCachedTokens: parent.numCachedTokens,
    };
  }
}
