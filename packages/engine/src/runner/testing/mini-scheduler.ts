/**
 * A deliberately small V1-style scheduler for the runner's tests: one token budget, chunked
 * prefill, blocks handed out from a shuffled free list (so block tables are never contiguous),
 * new requests sent whole once and as diffs afterwards. Not exported from the package.
 * @internal
 */
import {
  blockId,
  emptyKVCacheOps,
  requestId,
  resolveSamplingParams,
  type BlockId,
  type CachedRequestData,
  type ModelRunnerOutput,
  type NewRequestData,
  type RequestId,
  type SamplingParamsData,
  type SamplingParamsInit,
  type SchedulerOutput,
} from '@vllm-ts/core';

interface MiniRequest {
  readonly id: RequestId;
  readonly prompt: readonly number[];
  readonly params: SamplingParamsData;
  readonly outputs: number[];
  blocks: BlockId[];
  numComputed: number;
  sent: boolean;
  newBlocks: BlockId[];
  drafts: number[];
}

/** @internal */
export class MiniScheduler {
  private readonly free: BlockId[];
  private readonly running: MiniRequest[] = [];
  private finished = new Set<RequestId>();
  readonly done = new Map<RequestId, number[]>();
  /** Per request, every sampled-token list the runner returned (spec tests read them). */
  readonly steps = new Map<RequestId, number[][]>();

  constructor(
    numBlocks: number,
    readonly blockSize: number,
    readonly budget: number,
  ) {
    // A fixed shuffle: block i is handed out in order (i * 37) mod numBlocks when numBlocks is coprime to 37.
    this.free = Array.from({ length: numBlocks }, (_, i) => blockId((i * 37 + 5) % numBlocks));
  }

  get numFreeBlocks(): number {
    return this.free.length;
  }

  add(id: string, prompt: readonly number[], params: SamplingParamsInit): void {
    this.running.push({
      id: requestId(id),
      prompt,
      params: resolveSamplingParams(params),
      outputs: [],
      blocks: [],
      numComputed: 0,
      sent: false,
      newBlocks: [],
      drafts: [],
    });
  }

  /** Drafts to verify at the request's next decode step. */
  propose(id: string, drafts: number[]): void {
    const r = this.running.find((x) => x.id === id);
    if (r) r.drafts = drafts;
  }

  hasUnfinished(): boolean {
    return this.running.length > 0;
  }

  schedule(): SchedulerOutput {
    let budget = this.budget;
    const numScheduledTokens = new Map<RequestId, number>();
    const spec = new Map<RequestId, readonly number[]>();
    const scheduledNewReqs: NewRequestData[] = [];
    const scheduledCachedReqs: CachedRequestData[] = [];
    for (const r of this.running) {
      if (budget === 0) break;
      const numTokens = r.prompt.length + r.outputs.length;
      const isDecode = r.numComputed === numTokens - 1;
      const drafts = isDecode ? r.drafts : [];
      const n = Math.min(numTokens - r.numComputed + drafts.length, budget);
      if (drafts.length > 0 && n < 1 + drafts.length) continue;
      const needBlocks = Math.ceil((r.numComputed + n) / this.blockSize) - r.blocks.length;
      if (needBlocks > this.free.length) break;
      const fresh = this.free.splice(0, Math.max(0, needBlocks));
      r.blocks.push(...fresh);
      budget -= n;
      numScheduledTokens.set(r.id, n);
      if (drafts.length > 0) spec.set(r.id, [...drafts]);
      r.drafts = [];
      if (!r.sent) {
        scheduledNewReqs.push({
          reqId: r.id,
          promptTokenIds: r.prompt,
          outputTokenIds: [...r.outputs],
          samplingParams: r.params,
          blockIds: [...r.blocks],
          numComputedTokens: r.numComputed,
          forkedFrom: null,
        });
        r.sent = true;
      } else {
        scheduledCachedReqs.push({ reqId: r.id, resumed: false, newBlockIds: fresh, numComputedTokens: r.numComputed, allTokenIds: null });
      }
    }
    const out: SchedulerOutput = {
      scheduledNewReqs,
      scheduledCachedReqs,
      numScheduledTokens,
      totalNumScheduledTokens: [...numScheduledTokens.values()].reduce((a, b) => a + b, 0),
      scheduledSpecDecodeTokens: spec,
      finishedReqIds: this.finished,
      preemptedReqIds: new Set(),
      kvCacheOps: emptyKVCacheOps(),
    };
    this.finished = new Set();
    return out;
  }

  update(so: SchedulerOutput, out: ModelRunnerOutput): void {
    for (const [id, n] of so.numScheduledTokens) {
      const r = this.running.find((x) => x.id === id)!;
      const sampled = out.sampledTokenIds.get(id) ?? [];
      const drafts = so.scheduledSpecDecodeTokens.get(id)?.length ?? 0;
      const rejected = sampled.length > 0 ? drafts - (sampled.length - 1) : 0;
      r.numComputed += n - rejected;
      if (sampled.length > 0) this.steps.set(r.id, [...(this.steps.get(r.id) ?? []), [...sampled]]);
      for (const t of sampled) {
        if (r.outputs.length >= (r.params.maxTokens ?? Infinity)) break;
        r.outputs.push(t);
      }
      if (r.outputs.length >= (r.params.maxTokens ?? Infinity)) {
        this.running.splice(this.running.indexOf(r), 1);
        this.free.push(...r.blocks);
        this.finished.add(r.id);
        this.done.set(r.id, r.outputs);
      }
    }
  }
}
