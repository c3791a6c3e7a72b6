import {
  cachedRequestColumnsOf,
  invariant,
  type CachedRequestData,
  type NewRequestData,
  type RequestId,
  type SamplingParamsData,
  type SchedulerOutput,
} from '@vllm-ts/core';
import { RandomGenerator } from '../sample/random-generator.js';
import type { ScheduledRequest } from './forward-batch-builder.js';

/** What the runner remembers about one request between steps (vLLM's `CachedRequestState`). */
export interface RequestState {
  readonly reqId: RequestId;
  readonly params: SamplingParamsData;
  readonly numPromptTokens: number;
  /** Prompt followed by every token sampled so far. */
  tokens: number[];
  blockTable: number[];
  /** Tokens whose KV is in the cache before this step. */
  numComputedTokens: number;
  /** The request's own stream (seeded requests), kept across preemption; null uses the engine's. */
  readonly generator: RandomGenerator | null;
  /** Dropped from the batch by a preemption until resumed. */
  preempted: boolean;
  /** First prompt position whose logits have not yet produced prompt logprobs. */
  promptLogprobsNext: number;
}

/** A request sampled for the first time this step from its parent's last row (V0 `n > 1` forks). */
export interface ForkedRequest {
  readonly child: RequestState;
  readonly parent: RequestId;
}

/** The requests one step computes, in batch order, after the step's diffs were applied. */
export interface AppliedStep {
  readonly scheduled: ScheduledRequest[];
  readonly forks: ForkedRequest[];
}

/**
 * Request states keyed by id, updated from each {@link SchedulerOutput}'s new and cached entries.
 */
export class RequestStates {
  private readonly states = new Map<RequestId, RequestState>();

  /** Number of requests held. */
  get size(): number {
    return this.states.size;
  }

  /**
   * The state of `id`.
   * @param id request id
   * @throws InternalError when the runner never saw the request
   */
  get(id: RequestId): RequestState {
    const s = this.states.get(id);
    invariant(s, () => `model runner has no state for request ${id}`);
    return s;
  }

  /**
   * True when the runner holds state for `id`.
   * @param id request id
   */
  has(id: RequestId): boolean {
    return this.states.has(id);
  }

  /**
   * Forgets finished requests.
   * @param ids finished or aborted request ids
   */
  remove(ids: Iterable<RequestId>): void {
    for (const id of ids) this.states.delete(id);
  }

  /**
   * Marks preempted requests: they leave the batch until a resumed entry brings them back.
   * @param ids preempted request ids
   */
  preempt(ids: Iterable<RequestId>): void {
    for (const id of ids) {
      const s = this.states.get(id);
      if (s) s.preempted = true;
    }
  }

  /**
   * Adds (or replaces, for a request re-sent whole) a request. A replaced request keeps its
   * generator, so a seeded stream continues where it stopped.
   * @param data the scheduler's new-request entry
   * @returns the state
   */
  addNew(data: NewRequestData): RequestState {
    const previous = this.states.get(data.reqId);
    const seed = data.samplingParams.seed;
    const state: RequestState = {
      reqId: data.reqId,
      params: data.samplingParams,
      numPromptTokens: data.promptTokenIds.length,
      tokens: [...data.promptTokenIds, ...data.outputTokenIds],
      blockTable: [...data.blockIds],
      numComputedTokens: data.numComputedTokens,
      generator: previous?.generator ?? (seed === null ? null : new RandomGenerator(seed)),
      preempted: false,
      promptLogprobsNext: previous?.promptLogprobsNext ?? 0,
    };
    this.states.set(data.reqId, state);
    return state;
  }

  /**
   * Applies a cached request's diff: appended (or, when resumed, replacing) blocks and tokens.
   * @param data the scheduler's cached-request entry
   * @returns the state
   */
  applyCached(data: CachedRequestData): RequestState {
    const s = this.get(data.reqId);
    if (data.resumed) {
      s.blockTable = [...data.newBlockIds];
      if (data.allTokenIds) s.tokens = [...data.allTokenIds];
      s.preempted = false;
    } else {
      for (const b of data.newBlockIds) s.blockTable.push(b);
    }
    s.numComputedTokens = data.numComputedTokens;
    return s;
  }

  /**
   * Applies one step's request diffs (finished, preempted, new, cached) and lists the requests
   * that compute tokens, in the scheduler's order. Block moves (`kvCacheOps`) are the caller's.
   * @param so the scheduler's output
   * @returns the scheduled requests and the forks to sample from their parents
   */
  applySchedulerOutput(so: SchedulerOutput): AppliedStep {
    this.remove(so.finishedReqIds);
    this.preempt(so.preemptedReqIds);
    const forks: ForkedRequest[] = [];
    for (const req of so.scheduledNewReqs) {
      const state = this.addNew(req);
      if (req.forkedFrom !== null) forks.push({ child: state, parent: req.forkedFrom });
    }
    // The diffs as columns: no object per known request (V1 provides them; V0's array is read
    // through the same helper).
    const c = cachedRequestColumnsOf(so);
    let nextBlocks = 0;
    let nextResumed = 0;
    for (let i = 0; i < c.length; i++) {
      const s = this.get(c.reqIds[i]!);
      const blocks = nextBlocks < c.blockEntries.length && c.blockEntries[nextBlocks] === i ? c.blockIds[nextBlocks++]! : null;
      if (nextResumed < c.resumedEntries.length && c.resumedEntries[nextResumed] === i) {
        s.blockTable = blocks === null ? [] : [...blocks];
        const tokens = c.resumedTokenIds[nextResumed++];
        if (tokens) s.tokens = [...tokens];
        s.preempted = false;
      } else if (blocks !== null) {
        for (let b = 0; b < blocks.length; b++) s.blockTable.push(blocks[b]!);
      }
      s.numComputedTokens = c.numComputedTokens[i]!;
    }
    const scheduled: ScheduledRequest[] = [];
    for (const [id, n] of so.numScheduledTokens) {
      if (n === 0) continue;
      const state = this.get(id);
      invariant(!state.preempted, () => `request ${id} is scheduled while preempted`);
      scheduled.push({ state, numScheduledTokens: n, drafts: so.scheduledSpecDecodeTokens.get(id) ?? [] });
    }
    return { scheduled, forks };
  }
}
