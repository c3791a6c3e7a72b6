import { cachedRequestColumnsOf, SampledTokenIds, VllmError, type BlockId, type CachedRequestColumns, type ModelRunnerOutput, type RequestId, type SchedulerOutput } from '@vllm-ts/core';

const NO_TOKENS: readonly number[] = Object.freeze([]);
const NO_BLOCKS: readonly BlockId[] = Object.freeze([]);

/** The token a request produces as its `outputIndex`-th output (a pure function). */
export type TokenScript = (reqId: RequestId, outputIndex: number) => number;

/** Options of {@link ScriptedRunner}. */
export interface ScriptedRunnerOptions {
  /** Device blocks, as the scheduler was given them. */
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Sampled tokens come from this script, so the right answer is known in advance. */
  readonly script: TokenScript;
  /** Check the whole KV prefix each step (O(sequence length)); default true. */
  readonly verifyKv?: boolean;
}

interface RunnerRequest {
  /** Prompt then outputs: `tokens[0 .. numTokens)` (typed storage, off the collected heap). */
  tokens: Int32Array;
  numTokens: number;
  numPrompt: number;
  numComputed: number;
  blocks: BlockId[];
  preempted: boolean;
  /** Sampled a token in its last step (so its next step is a decode). */
  sampled: boolean;
  /** The last step (the runner's count) that listed it in its new or cached requests. */
  seenStep: number;
}

/**
 * A fake model runner that keeps the persistent-batch state a real runner keeps and a simulated
 * KV cache (one token id and position per slot), and samples scripted tokens. It checks the
 * scheduler's output against the contract as it goes, and throws `contract_violation` on:
 * - a cached request it does not know, or a preempted one sent without `resumed`;
 * - a `numComputedTokens` that disagrees with what it computed;
 * - scheduled tokens past the known tokens and scheduled drafts, or a block table too short;
 * - a totals mismatch, the null block in a table, or KV that does not hold the request's tokens
 *   when "attention" reads it (so a wrong prefix-cache hit, a shared block written while shared,
 *   or a block reused while still held, is caught).
 *
 * Drafts are verified against the script: the accepted ones are the leading drafts equal to the
 * script, then one more scripted token follows (the bonus or the correction).
 */
export class ScriptedRunner {
  private readonly reqs = new Map<RequestId, RunnerRequest>();
  private readonly slotToken: Int32Array;
  private readonly slotPos: Int32Array;
  private readonly cpu = new Map<number, { token: Int32Array; pos: Int32Array }>();
  private readonly opts: ScriptedRunnerOptions;
  // Steps executed; marks the requests a step lists (see RunnerRequest.seenStep).
  private step = 0;

  /** @param options pool geometry and the token script */
  constructor(options: ScriptedRunnerOptions) {
    this.opts = options;
    this.slotToken = new Int32Array(options.numBlocks * options.blockSize).fill(-1);
    this.slotPos = new Int32Array(options.numBlocks * options.blockSize).fill(-1);
  }

  /** Requests the runner holds state for. */
  get numKnownRequests(): number {
    return this.reqs.size;
  }

  /**
   * True when the request's next step is a decode (its known tokens are all computed).
   * @param reqId a request id
   */
  isDecoding(reqId: RequestId): boolean {
    const r = this.reqs.get(reqId);
    return r !== undefined && !r.preempted && r.sampled;
  }

  /**
   * Runs one step.
   * @param out the scheduler's decision
   * @returns the sampled tokens
   * @throws VllmError (`contract_violation`) when the output breaks the scheduler contract
   */
  execute(out: SchedulerOutput): ModelRunnerOutput {
    const bs = this.opts.blockSize;
    for (const id of out.finishedReqIds) this.reqs.delete(id);
    for (const id of out.preemptedReqIds) {
      const r = this.reqs.get(id);
      if (r !== undefined) r.preempted = true;
    }
    this.applyKvOps(out);
    // Per-request work allocates nothing in the usual decode case: the runner's garbage would
    // otherwise set the pace of the garbage collector in the scheduler benchmarks.
    const stepNo = ++this.step;
    for (const nr of out.scheduledNewReqs) {
      const parent = nr.forkedFrom === null ? undefined : this.reqs.get(nr.forkedFrom);
      const known = nr.promptTokenIds.length + nr.outputTokenIds.length;
      const tokens = new Int32Array(Math.max(2 * known, 64));
      tokens.set(nr.promptTokenIds);
      tokens.set(nr.outputTokenIds, nr.promptTokenIds.length);
      this.reqs.set(nr.reqId, {
        tokens,
        numTokens: known,
        numPrompt: nr.promptTokenIds.length,
        numComputed: parent?.numComputed ?? nr.numComputedTokens,
        blocks: [...nr.blockIds],
        preempted: false,
        sampled: false,
        seenStep: stepNo,
      });
    }
    // The diffs as columns (V1 provides them; V0's array is read through the same helper). In
    // checking mode the object view must say the same.
    const cached = cachedRequestColumnsOf(out);
    if (this.opts.verifyKv !== false && out.cachedReqColumns !== undefined) checkCachedViews(out, cached);
    let nextBlocks = 0;
    let nextResumed = 0;
    for (let i = 0; i < cached.length; i++) {
      const reqId = cached.reqIds[i]!;
      const newBlockIds = nextBlocks < cached.blockEntries.length && cached.blockEntries[nextBlocks] === i ? cached.blockIds[nextBlocks++]! : NO_BLOCKS;
      const resumed = nextResumed < cached.resumedEntries.length && cached.resumedEntries[nextResumed] === i;
      const allTokenIds = resumed ? cached.resumedTokenIds[nextResumed++]! : null;
      const numComputedTokens = cached.numComputedTokens[i]!;
      const r = this.reqs.get(reqId);
      if (r === undefined) violation(`cached request ${reqId} is unknown to the runner`);
      r.seenStep = stepNo;
      if (resumed) {
        if (allTokenIds !== null) {
          if (allTokenIds.join() !== r.tokens.subarray(0, r.numTokens).join()) violation(`resumed ${reqId} has tokens that differ from the runner's`);
        }
        r.blocks = [...newBlockIds];
        r.preempted = false;
        r.sampled = false;
      } else {
        if (r.preempted) violation(`preempted ${reqId} scheduled again without resumed`);
        for (const b of newBlockIds) r.blocks.push(b);
      }
      if (!resumed && numComputedTokens !== r.numComputed) {
        violation(`${reqId}: scheduler says ${numComputedTokens} computed tokens, the runner computed ${r.numComputed}`);
      }
      r.numComputed = numComputedTokens;
    }
    if (nextBlocks !== cached.blockEntries.length || nextResumed !== cached.resumedEntries.length) violation('cachedReqColumns lists entries out of order or past its length');
    let total = 0;
    out.numScheduledTokens.forEach((n, id) => {
      total += n;
      const r = this.reqs.get(id);
      if (r === undefined || r.seenStep !== stepNo) violation(`${id} is scheduled but in neither scheduledNewReqs nor scheduledCachedReqs`);
      const drafts = out.scheduledSpecDecodeTokens.get(id) ?? NO_TOKENS;
      const end = r.numComputed + n;
      if (end > r.numTokens + drafts.length) violation(`${id}: ${n} tokens scheduled from ${r.numComputed}, past ${r.numTokens} tokens + ${drafts.length} drafts`);
      if (drafts.length > 0 && end !== r.numTokens + drafts.length) violation(`${id}: drafts scheduled but the step does not end after them`);
      if (r.blocks.length * bs < end) violation(`${id}: ${r.blocks.length} blocks cannot hold ${end} tokens`);
      if (r.blocks.includes(0 as BlockId)) violation(`${id}: the null block is in its table`);
      for (let p = r.numComputed; p < end; p++) {
        const slot = r.blocks[Math.floor(p / bs)]! * bs + (p % bs);
        this.slotToken[slot] = p < r.numTokens ? r.tokens[p]! : drafts[p - r.numTokens]!;
        this.slotPos[slot] = p;
      }
    });
    if (total !== out.totalNumScheduledTokens) violation(`totalNumScheduledTokens is ${out.totalNumScheduledTokens}, the entries sum to ${total}`);

    // Rows in batch order, an empty one for a chunk that samples nothing (as real runners do).
    const sampled = new SampledTokenIds(out.numScheduledTokens.size);
    out.numScheduledTokens.forEach((n, id) => {
      const r = this.reqs.get(id)!;
      const drafts = out.scheduledSpecDecodeTokens.get(id) ?? NO_TOKENS;
      const end = r.numComputed + n;
      if (this.opts.verifyKv !== false) this.verify(id, r, drafts, end);
      r.sampled = end - drafts.length >= r.numTokens;
      if (!r.sampled) {
        r.numComputed = end;
        sampled.append(id, NO_TOKENS);
        return;
      }
      const outIndex = r.numTokens - r.numPrompt;
      let accepted = 0;
      while (accepted < drafts.length && drafts[accepted] === this.opts.script(id, outIndex + accepted)) accepted++;
      // The accepted drafts, then one scripted token (the bonus or the correction).
      const next = this.opts.script(id, outIndex + accepted);
      r.numComputed = end - (drafts.length - accepted);
      for (let k = 0; k < accepted; k++) pushToken(r, drafts[k]!);
      pushToken(r, next);
      if (accepted === 0) sampled.appendOne(id, next);
      else sampled.append(id, [...drafts.slice(0, accepted), next]);
    });
    return { sampledTokenIds: sampled, logprobs: new Map(), promptLogprobs: new Map() };
  }

  private verify(id: RequestId, r: RunnerRequest, drafts: readonly number[], end: number): void {
    const bs = this.opts.blockSize;
    for (let p = 0; p < end; p++) {
      const slot = r.blocks[Math.floor(p / bs)]! * bs + (p % bs);
      const want = p < r.numTokens ? r.tokens[p]! : drafts[p - r.numTokens]!;
      if (this.slotToken[slot] !== want || this.slotPos[slot] !== p) {
        violation(`${id}: KV at position ${p} (block ${r.blocks[Math.floor(p / bs)]}) holds token ${this.slotToken[slot]}@${this.slotPos[slot]}, expected ${want}@${p}`);
      }
    }
  }

  private applyKvOps(out: SchedulerOutput): void {
    const bs = this.opts.blockSize;
    const ops = out.kvCacheOps;
    for (const [cpu, dev] of ops.swapIn) {
      const saved = this.cpu.get(cpu);
      if (saved === undefined) violation(`swap-in from CPU block ${cpu}, which holds nothing`);
      this.slotToken.set(saved.token, dev * bs);
      this.slotPos.set(saved.pos, dev * bs);
    }
    for (const [dev, cpu] of ops.swapOut) {
      this.cpu.set(cpu, { token: this.slotToken.slice(dev * bs, dev * bs + bs), pos: this.slotPos.slice(dev * bs, dev * bs + bs) });
    }
    for (const [src, dst] of ops.copy) {
      this.slotToken.copyWithin(dst * bs, src * bs, src * bs + bs);
      this.slotPos.copyWithin(dst * bs, src * bs, src * bs + bs);
    }
  }
}

// The object view of a step's cached diffs must match its columns entry for entry.
function checkCachedViews(out: SchedulerOutput, cached: CachedRequestColumns): void {
  const objects = out.scheduledCachedReqs;
  if (objects.length !== cached.length) violation(`scheduledCachedReqs has ${objects.length} entries, cachedReqColumns ${cached.length}`);
  let nextBlocks = 0;
  let nextResumed = 0;
  for (let i = 0; i < cached.length; i++) {
    const o = objects[i]!;
    const blocks = nextBlocks < cached.blockEntries.length && cached.blockEntries[nextBlocks] === i ? cached.blockIds[nextBlocks++]! : NO_BLOCKS;
    const resumed = nextResumed < cached.resumedEntries.length && cached.resumedEntries[nextResumed] === i;
    const tokens = resumed ? cached.resumedTokenIds[nextResumed++]! : null;
    if (o.reqId !== cached.reqIds[i] || o.resumed !== resumed || o.numComputedTokens !== cached.numComputedTokens[i] || o.newBlockIds.join() !== blocks.join() || o.allTokenIds?.join() !== tokens?.join()) {
      violation(`scheduledCachedReqs[${i}] (${o.reqId}) disagrees with cachedReqColumns`);
    }
  }
}

function pushToken(r: RunnerRequest, token: number): void {
  if (r.numTokens === r.tokens.length) {
    const grown = new Int32Array(2 * r.tokens.length);
    grown.set(r.tokens);
    r.tokens = grown;
  }
  r.tokens[r.numTokens++] = token;
}

function violation(message: string): never {
  throw new VllmError('contract_violation', `[scheduler-conformance] ${message}`);
}
