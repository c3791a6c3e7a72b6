import type { BlockSpaceManager } from '@vllm-ts/block-allocator';
import { RequestStatus, invariant } from '@vllm-ts/core';
import type { SchedulerV0Config } from './config.js';
import type { SchedulingBudget } from './scheduling-budget.js';
import type { Sequence, SequenceGroup } from './sequence-group.js';
import { Slot, type StepPlan } from './step-plan.js';

/** The scheduler state the passes read and change. */
export interface PassContext {
  readonly config: SchedulerV0Config;
  readonly bm: BlockSpaceManager;
  waiting: SequenceGroup[];
  running: SequenceGroup[];
  swapped: SequenceGroup[];
  /** Preempts `group` (recompute or swap) and returns which; the caller queues it. */
  preempt(group: SequenceGroup, plan: StepPlan): 'recompute' | 'swap';
  /** Finishes `group` as FINISHED_IGNORED (too long, or can never fit). */
  ignore(group: SequenceGroup): void;
  /** V0's `schedulerDelayFactor` gate, checked before each admission. */
  passedDelay(): boolean;
  /** Bookkeeping when `group` leaves the waiting queue for running. */
  onAdmitted(group: SequenceGroup): void;
}

/** Per-step chunked-prefill metadata (V0's `PartialPrefillMetadata`). */
export interface PartialPrefills {
  /** Prefills that share the budget this step (at most `maxNumPartialPrefills`). */
  schedulablePrefills: number;
  /** Long prompts being prefilled. */
  longPrefills: number;
}

/** A group's share of a step: tokens per sequence (0 = not this step). */
type Share = { seq: Sequence; numTokens: number }[];

/** Result of the running pass. */
export interface RunningResult {
  readonly decodes: SequenceGroup[];
  readonly prefills: SequenceGroup[];
  readonly preempted: SequenceGroup[];
  readonly swappedOut: SequenceGroup[];
}

/**
 * Counts prefills in flight and the waiting ones that could join them (V0's `from_queues`).
 * @param ctx scheduler state
 */
export function partialPrefills(ctx: PassContext): PartialPrefills {
  const { maxNumPartialPrefills, maxLongPartialPrefills, longPrefillTokenThreshold } = ctx.config;
  let prefills = 0;
  let longPrefills = 0;
  let waitingLong = 0;
  for (const g of ctx.running) {
    if (!g.isPrefill) continue;
    prefills++;
    if (firstSeqNewTokens(g) > longPrefillTokenThreshold) longPrefills++;
  }
  for (const g of ctx.waiting) {
    if (prefills >= maxNumPartialPrefills) break;
    if (firstSeqNewTokens(g) > longPrefillTokenThreshold) {
      if (longPrefills + waitingLong >= maxLongPartialPrefills) continue;
      waitingLong++;
    }
    prefills++;
  }
  return { schedulablePrefills: Math.min(prefills, maxNumPartialPrefills), longPrefills };
}

/**
 * Admits waiting groups in queue order: whole prompts (or a first chunk in chunked mode) within the
 * token budget, the sequence cap and the watermark. Stops at the first that must wait.
 */
export function schedulePrefills(ctx: PassContext, budget: SchedulingBudget, plan: StepPlan, pp: PartialPrefills | null): SequenceGroup[] {
  const { config, bm } = ctx;
  const chunked = config.enableChunkedPrefill;
  const promptLimit = chunked ? config.maxModelLen : Math.min(config.maxModelLen, config.maxNumBatchedTokens);
  const admitted: SequenceGroup[] = [];
  const leftover: SequenceGroup[] = [];
  while (ctx.passedDelay() && ctx.waiting.length > 0) {
    const g = ctx.waiting[0]!;
    const seqs = g.activeSeqs;
    if (seqs.some((s) => s.tokenIds.length > promptLimit)) {
      ctx.waiting.shift();
      ctx.ignore(g);
      continue;
    }
    const status = bm.canAllocate(seqs);
    if (status === 'later') break;
    if (status === 'never') {
      ctx.waiting.shift();
      ctx.ignore(g);
      continue;
    }
    const isLong = firstSeqNewTokens(g) > config.longPrefillTokenThreshold;
    if (pp !== null && config.maxNumPartialPrefills > 1 && isLong && pp.longPrefills >= config.maxLongPartialPrefills) {
      leftover.push(ctx.waiting.shift()!);
      continue;
    }
    const cached = seqs.map((s) => (s.samplingParams.promptLogprobs === null ? bm.peekNumCachedTokens(s) : 0));
    let uncached = 0;
    seqs.forEach((s, i) => (uncached += s.tokenIds.length - cached[i]!));
    // A parallel-sampling group recomputed after its samples diverged re-prefills several sequences;
    // it may take more than one step's budget, so even without chunking it is spread over steps.
    const numTokens = chunked ? chunkTokens(ctx, budget, uncached, pp) : seqs.length > 1 ? Math.min(uncached, budget.remainingTokenBudget) : uncached;
    if (numTokens === 0 || !budget.canSchedule(numTokens, g.maxNumRunningSeqs)) break;
    ctx.waiting.shift();
    invariant(bm.allocate(seqs), () => `allocating ${g.requestId} failed after canAllocate said ok`);
    for (const s of seqs) {
      s.numComputedTokens = s.samplingParams.promptLogprobs === null ? bm.getNumCachedTokens(s.seqId) : 0;
      s.numCachedTokens = s.numComputedTokens;
    }
    ctx.onAdmitted(g);
    addGroup(ctx, plan, Slot.NewPrefill, share(g, numTokens));
    budget.addTokens(g.requestId, numTokens);
    budget.addSeqs(g.requestId, g.maxNumRunningSeqs);
    if (pp !== null && isLong) pp.longPrefills++;
    admitted.push(g);
  }
  if (leftover.length > 0) ctx.waiting.unshift(...leftover);
  return admitted;
}

/**
 * Runs the running groups in order: a decode token per sequence, or the next prefill chunk in
 * chunked mode. When a group's slots cannot be appended, preempts the newest running group (the
 * queue's tail), or the group itself when it is the last one.
 */
export function scheduleRunning(ctx: PassContext, budget: SchedulingBudget, plan: StepPlan, pp: PartialPrefills | null): RunningResult {
  const { bm, config } = ctx;
  const chunked = config.enableChunkedPrefill;
  const queue = ctx.running;
  const out: RunningResult = { decodes: [], prefills: [], preempted: [], swappedOut: [] };
  const put = (victim: SequenceGroup) => (ctx.preempt(victim, plan) === 'swap' ? out.swappedOut : out.preempted).push(victim);
  // `queue[next..]` are not scheduled yet; victims are popped from its end (the newest groups).
  let next = 0;
  while (next < queue.length) {
    const g = queue[next]!;
    const isPrefill = g.isPrefill;
    const want = groupNewTokens(g);
    let numTokens: number;
    if (isPrefill) numTokens = chunked ? chunkTokens(ctx, budget, want, pp) : Math.min(want, budget.remainingTokenBudget);
    else numTokens = want <= budget.remainingTokenBudget ? want : 0;
    if (numTokens === 0) break;
    next++;
    let scheduled = true;
    while (!bm.canAppendSlots(g.activeSeqs)) {
      budget.subtractTokens(g.requestId, numTokens);
      budget.subtractSeqs(g.requestId, g.maxNumRunningSeqs);
      if (queue.length > next) put(queue.pop()!);
      else {
        put(g);
        scheduled = false;
        break;
      }
    }
    if (!scheduled) break;
    const parts = share(g, numTokens);
    appendSlots(ctx, plan, parts);
    addGroup(ctx, plan, isPrefill ? Slot.RunningPrefill : Slot.RunningDecode, parts);
    budget.addTokens(g.requestId, numTokens);
    if (chunked) budget.addSeqs(g.requestId, g.maxNumRunningSeqs);
    (isPrefill ? out.prefills : out.decodes).push(g);
  }
  ctx.running = next === 0 ? queue : queue.slice(next);
  return out;
}

/** Brings swapped groups back, oldest first, while the watermark and the budget allow. */
export function scheduleSwapped(ctx: PassContext, budget: SchedulingBudget, plan: StepPlan, pp: PartialPrefills | null): { decodes: SequenceGroup[]; prefills: SequenceGroup[] } {
  const { bm, config } = ctx;
  const out = { decodes: [] as SequenceGroup[], prefills: [] as SequenceGroup[] };
  while (ctx.swapped.length > 0) {
    const g = ctx.swapped[0]!;
    const seqs = g.activeSeqs;
    const status = bm.canSwapIn(seqs);
    if (status === 'later') break;
    if (status === 'never') {
      ctx.swapped.shift();
      ctx.ignore(g);
      continue;
    }
    const isPrefill = g.isPrefill;
    const want = groupNewTokens(g);
    const numTokens = !isPrefill ? want : config.enableChunkedPrefill ? chunkTokens(ctx, budget, want, pp) : Math.min(want, budget.remainingTokenBudget);
    if (numTokens === 0 || !budget.canSchedule(numTokens, g.maxNumRunningSeqs)) break;
    ctx.swapped.shift();
    invariant(bm.swapIn(seqs.map((s) => s.seqId), plan.swapIn), () => `swapping in ${g.requestId} failed after canSwapIn said ok`);
    for (const s of seqs) {
      s.status = RequestStatus.RUNNING;
      s.isTableRewritten = true;
    }
    const parts = share(g, numTokens);
    appendSlots(ctx, plan, parts);
    addGroup(ctx, plan, isPrefill ? Slot.SwappedPrefill : Slot.SwappedDecode, parts);
    budget.addTokens(g.requestId, numTokens);
    budget.addSeqs(g.requestId, g.maxNumRunningSeqs);
    (isPrefill ? out.prefills : out.decodes).push(g);
  }
  return out;
}

/**
 * Priority policy, when no prompt was admitted: while the best waiting group outranks the worst
 * running one and cannot be admitted, preempt the worst running one.
 * @returns the number of groups preempted
 */
export function schedulePriorityPreemption(ctx: PassContext, budget: SchedulingBudget, plan: StepPlan): number {
  const head = ctx.waiting[0];
  if (head === undefined) return 0;
  ctx.running.sort(byPriority);
  let count = 0;
  const requeue: SequenceGroup[] = [];
  while (ctx.running.length > 0 && byPriority(ctx.running[ctx.running.length - 1]!, head) > 0) {
    const want = groupNewTokens(head);
    if (ctx.bm.canAllocate(head.activeSeqs) === 'ok' && budget.canSchedule(want, head.maxNumRunningSeqs)) break;
    const victim = ctx.running.pop()!;
    budget.subtractTokens(victim.requestId, groupNewTokens(victim));
    budget.subtractSeqs(victim.requestId, victim.maxNumRunningSeqs);
    if (ctx.preempt(victim, plan) === 'swap') ctx.swapped.push(victim);
    else requeue.push(victim);
    count++;
  }
  if (requeue.length > 0) {
    ctx.waiting.push(...requeue);
    ctx.waiting.sort(byPriority);
  }
  return count;
}

/**
 * Order of the priority policy: lower `priority` first, then earlier arrival.
 * @returns negative when `a` goes first
 */
export function byPriority(a: SequenceGroup, b: SequenceGroup): number {
  return a.priority - b.priority || a.arrivalTime - b.arrivalTime;
}

/** Running groups whose chunk ends their prefill first, so they decode first next step. */
export function finishingPrefillsFirst(groups: SequenceGroup[]): SequenceGroup[] {
  const finishing = groups.filter((g) => !g.isPrefill);
  return finishing.length === 0 ? groups : [...finishing, ...groups.filter((g) => g.isPrefill)];
}

function firstSeqNewTokens(g: SequenceGroup): number {
  const s = g.activeSeqs[0];
  return s === undefined ? 0 : s.numUncomputedTokens;
}

function groupNewTokens(g: SequenceGroup): number {
  let n = 0;
  for (const s of g.activeSeqs) n += s.numUncomputedTokens;
  return n;
}

/** V0's `_chunk_new_tokens_to_schedule`: the chunk a prefill gets from what is left of the budget. */
function chunkTokens(ctx: PassContext, budget: SchedulingBudget, want: number, pp: PartialPrefills | null): number {
  const { config } = ctx;
  const remaining = budget.remainingTokenBudget;
  const slotBudget = pp === null || pp.schedulablePrefills === 0 ? remaining : Math.floor(config.maxNumBatchedTokens / pp.schedulablePrefills);
  if (config.enablePrefixCaching) {
    // Partial chunks end on block boundaries so a chunk never leaves a half-hashed block behind.
    const rounded = Math.floor(Math.min(remaining, slotBudget) / config.blockSize) * config.blockSize;
    return Math.min(want, rounded);
  }
  return Math.min(want, remaining, slotBudget);
}

/** Splits `numTokens` over the group's active sequences in order. */
function share(g: SequenceGroup, numTokens: number): Share {
  const parts: Share = [];
  let left = numTokens;
  for (const seq of g.activeSeqs) {
    const n = Math.min(left, seq.numUncomputedTokens);
    parts.push({ seq, numTokens: n });
    left -= n;
  }
  return parts;
}

function appendSlots(ctx: PassContext, plan: StepPlan, parts: Share): void {
  for (const { seq } of parts) {
    if (ctx.bm.appendSlots(seq, 0, plan.copies)) seq.isTableRewritten = true;
  }
}

/** Records a group's share; forks the children of a parallel-sampling group whose prompt completes now. */
function addGroup(ctx: PassContext, plan: StepPlan, slot: Slot, parts: Share): void {
  for (const { seq, numTokens } of parts) {
    if (numTokens > 0) plan.add(slot, seq, numTokens);
  }
  const g = parts[0]?.seq.group;
  if (g === undefined || g.isForked) return;
  const first = g.seqs[0]!;
  const done = parts.find((p) => p.seq === first);
  if (done === undefined || first.numComputedTokens + done.numTokens < first.tokenIds.length) return;
  for (const child of g.seqs.slice(1)) {
    if (child.isFinished) continue;
    ctx.bm.fork(first.seqId, child.seqId);
    child.status = RequestStatus.RUNNING;
    child.numComputedTokens = first.numComputedTokens + done.numTokens;
    plan.add(slot, child, 0, first);
  }
  g.isForked = true;
}
