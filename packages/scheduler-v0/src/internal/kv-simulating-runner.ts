import type {
  BlockId,
  ModelRunnerOutput,
  RequestId,
  SamplingParamsData,
  SchedulerOutput,
} from '@vllm-ts/core';

/**
 * The next token of a sequence in the simulated model: a pure function of the sequence's length,
 * its last three tokens and its seed, so a sequence's outputs do not depend on how it was batched,
 * preempted, swapped or forked.
 */
export function simulatedNextToken(tokens: readonly number[], seed: number, vocabSize: number): number {
  let h = (2166136261 ^ seed) >>> 0;
  const n = tokens.length;
  for (const x of [n, tokens[n - 1] ?? -1, tokens[n - 2] ?? -1, tokens[n - 3] ?? -1]) {
    h = Math.imul(h ^ (x & 0xffff), 16777619) >>> 0;
    h = Math.imul(h ^ (x >>> 16), 16777619) >>> 0;
  }
  return h % vocabSize;
}

/** The seed a sequence samples with: its own, or one derived from its id. */
export function simulatedSeed(params: SamplingParamsData, seqId: string): number {
  if (params.seed !== null) return params.seed | 0;
  let h = 0;
  for (let i = 0; i < seqId.length; i++) h = (Math.imul(h, 31) + seqId.charCodeAt(i)) | 0;
  return h;
}

/**
 * What a sequence generates when run alone: the simulated model, stopped by V1's rules (min
 * tokens; EOS unless ignored; stop token ids; max model length; max tokens).
 */
export function referenceOutputs(
  prompt: readonly number[],
  params: SamplingParamsData,
  seqId: string,
  eosTokenId: number | null,
  maxModelLen: number,
  vocabSize: number,
): number[] {
  const tokens = [...prompt];
  const out: number[] = [];
  const seed = simulatedSeed(params, seqId);
  const maxTokens = params.maxTokens ?? maxModelLen - prompt.length;
  for (;;) {
    const t = simulatedNextToken(tokens, seed, vocabSize);
    tokens.push(t);
    out.push(t);
    if (out.length < params.minTokens) continue;
    if (!params.ignoreEos && t === eosTokenId) return out;
    if (params.stopTokenIds.includes(t)) return out;
    if (tokens.length >= maxModelLen || out.length >= maxTokens) return out;
  }
}

interface RunnerSeq {
  tokens: number[];
  table: BlockId[];
  seed: number;
}

/**
 * A model runner that simulates the paged KV cache: every slot holds (position, token) of what was
 * computed into it, and each step checks that every scheduled sequence reads back exactly its own
 * context through its block table. Wrong tables, a missed copy-on-write, a lost swap or an
 * overwritten block all throw. Applies `kvCacheOps` in the order swap-out, swap-in, copy.
 */
export class KvSimulatingRunner {
  private readonly gpu: Float64Array;
  private readonly cpu: Float64Array;
  private readonly seqs = new Map<RequestId, RunnerSeq>();
  /** Tokens computed so far (prefill and decode), for throughput figures. */
  numComputedTokens = 0;

  /**
   * @param blockSize tokens per block
   * @param numGpuBlocks device blocks
   * @param numCpuBlocks CPU swap blocks
   * @param vocabSize tokens the simulated model samples from
   */
  constructor(
    private readonly blockSize: number,
    numGpuBlocks: number,
    numCpuBlocks: number,
    private readonly vocabSize = 1000,
  ) {
    this.gpu = new Float64Array(numGpuBlocks * blockSize).fill(-1);
    this.cpu = new Float64Array(Math.max(numCpuBlocks, 1) * blockSize).fill(-1);
  }

  /** Sequences whose state the runner holds. */
  get numKnownSeqs(): number {
    return this.seqs.size;
  }

  /**
   * Runs one step.
   * @throws Error describing the first inconsistency found
   */
  execute(so: SchedulerOutput): ModelRunnerOutput {
    const bs = this.blockSize;
    for (const id of so.finishedReqIds) this.seqs.delete(id);
    const move = (from: Float64Array, to: Float64Array, pairs: readonly (readonly [BlockId, BlockId])[]) => {
      for (const [s, d] of pairs) to.set(from.subarray(s * bs, (s + 1) * bs), d * bs);
    };
    move(this.gpu, this.cpu, so.kvCacheOps.swapOut);
    move(this.cpu, this.gpu, so.kvCacheOps.swapIn);
    move(this.gpu, this.gpu, so.kvCacheOps.copy);
    const start = new Map<RequestId, number>();
    for (const r of so.scheduledNewReqs) {
      this.seqs.set(r.reqId, { tokens: [...r.promptTokenIds, ...r.outputTokenIds], table: [...r.blockIds], seed: simulatedSeed(r.samplingParams, r.reqId) });
      start.set(r.reqId, r.numComputedTokens);
    }
    for (const r of so.scheduledCachedReqs) {
      const s = this.seqs.get(r.reqId);
      if (s === undefined) throw new Error(`runner: cached request ${r.reqId} is unknown`);
      if (r.resumed) {
        s.table = [...r.newBlockIds];
        s.tokens = [...r.allTokenIds!];
      } else s.table.push(...r.newBlockIds);
      start.set(r.reqId, r.numComputedTokens);
    }
    for (const [id, n] of so.numScheduledTokens) {
      const s = this.seqs.get(id)!;
      const from = start.get(id)!;
      if (from + n > s.tokens.length) throw new Error(`runner: ${id} computes past its ${s.tokens.length} tokens`);
      if (s.table.length * bs < from + n) throw new Error(`runner: ${id} has ${s.table.length} blocks for ${from + n} tokens`);
      for (let p = from; p < from + n; p++) this.gpu[s.table[Math.floor(p / bs)]! * bs + (p % bs)] = p * 1e6 + s.tokens[p]!;
      this.numComputedTokens += n;
    }
    const sampled = new Map<RequestId, number[]>();
    for (const [id, n] of so.numScheduledTokens) {
      const s = this.seqs.get(id)!;
      const end = start.get(id)! + n;
      for (let p = 0; p < end; p++) {
        const got = this.gpu[s.table[Math.floor(p / bs)]! * bs + (p % bs)]!;
        if (got !== p * 1e6 + s.tokens[p]!) {
          throw new Error(`runner: ${id} reads ${got} at position ${p} (block ${s.table[Math.floor(p / bs)]}), expected token ${s.tokens[p]}`);
        }
      }
      if (end < s.tokens.length) continue;
      const t = simulatedNextToken(s.tokens, s.seed, this.vocabSize);
      s.tokens.push(t);
      sampled.set(id, [t]);
    }
    return { sampledTokenIds: sampled, logprobs: new Map(), promptLogprobs: new Map() };
  }
}
