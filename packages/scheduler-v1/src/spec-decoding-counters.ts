import type { SpecDecodingStats } from '@vllm-ts/core';

/**
 * Cumulative speculative-decoding counters.
 * @internal
 */
export class SpecDecodingCounters {
  private numDrafts = 0;
  private numDraftTokens = 0;
  private numAcceptedTokens = 0;
  private readonly perPos: number[] = [];

  /** One request-step that verified `numDraft` drafts and accepted the first `numAccepted`. */
  record(numDraft: number, numAccepted: number): void {
    this.numDrafts++;
    this.numDraftTokens += numDraft;
    this.numAcceptedTokens += numAccepted;
    while (this.perPos.length < numDraft) this.perPos.push(0);
    for (let i = 0; i < numAccepted; i++) this.perPos[i]!++;
  }

  snapshot(): SpecDecodingStats {
    return {
      numDrafts: this.numDrafts,
      numDraftTokens: this.numDraftTokens,
      numAcceptedTokens: this.numAcceptedTokens,
      numAcceptedTokensPerPos: [...this.perPos],
    };
  }
}
