import { invariant, type RequestId } from '@vllm-ts/core';

/**
 * One step's budget (V0's `SchedulingBudget`): tokens to compute and sequence slots. Adds and
 * subtracts are keyed by request id, so counting a group twice in one step is a no-op.
 * Prefix-cache hits cost no token budget.
 */
export class SchedulingBudget {
  private readonly tokenIds = new Set<RequestId>();
  private readonly seqIds = new Set<RequestId>();
  numBatchedTokens = 0;
  numCurrSeqs = 0;

  /**
   * @param tokenBudget tokens per step
   * @param maxNumSeqs sequence slots
   */
  constructor(
    readonly tokenBudget: number,
    readonly maxNumSeqs: number,
  ) {}

  /** Tokens left this step. */
  get remainingTokenBudget(): number {
    return this.tokenBudget - this.numBatchedTokens;
  }

  /**
   * True when `numNewTokens` more tokens and `numNewSeqs` more slots fit.
   * @param numNewTokens tokens to compute (> 0)
   * @param numNewSeqs sequence slots
   */
  canSchedule(numNewTokens: number, numNewSeqs: number): boolean {
    invariant(numNewTokens > 0, 'a schedule request must carry tokens');
    return this.numBatchedTokens + numNewTokens <= this.tokenBudget && this.numCurrSeqs + numNewSeqs <= this.maxNumSeqs;
  }

  /** Counts `n` tokens for `id` once per step. */
  addTokens(id: RequestId, n: number): void {
    if (this.tokenIds.has(id)) return;
    this.tokenIds.add(id);
    this.numBatchedTokens += n;
  }

  /** Uncounts `id`'s tokens (a preempted group). */
  subtractTokens(id: RequestId, n: number): void {
    if (!this.tokenIds.delete(id)) return;
    this.numBatchedTokens -= n;
  }

  /** Counts `n` slots for `id` once per step. */
  addSeqs(id: RequestId, n: number): void {
    if (this.seqIds.has(id)) return;
    this.seqIds.add(id);
    this.numCurrSeqs += n;
  }

  /** Uncounts `id`'s slots. */
  subtractSeqs(id: RequestId, n: number): void {
    if (!this.seqIds.delete(id)) return;
    this.numCurrSeqs -= n;
  }
}
