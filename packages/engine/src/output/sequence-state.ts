import type { EngineCoreOutputExtras, FinishReason, RequestId, SamplingParamsData, TokenLogprobs } from '@vllm-ts/core';
import type { CompletionOutput, OutputKind } from './request-output.js';
import { findStopString } from './stop-strings.js';

/** Streaming detokenizer of one sequence: takes new token ids, returns the text they add. */
export interface Detokenizer {
  push(tokenIds: readonly number[]): string;
  /** Text still held back (an incomplete character) once the sequence ends. */
  flush?(): string;
}

/**
 * Makes a fresh {@link Detokenizer} for one sequence. `promptTokenIds` are context only (their text is
 * not returned): they let the first generated token keep its leading space as in the full text.
 */
export type DetokenizerFactory = (options: { readonly skipSpecialTokens: boolean; readonly promptTokenIds: readonly number[] }) => Detokenizer;

/** Lifecycle timestamps of one sequence (seconds, epoch-based clock shared by every thread). */
export interface SequenceTimes {
  readonly arrivalTime: number;
  queuedTs: number | null;
  scheduledTs: number | null;
  firstTokenTs: number | null;
  lastTokenTs: number | null;
}

/**
 * The front end's view of one generated sequence: its text (incrementally detokenized), tokens,
 * logprobs, finish state and stop-string check. One per child when `n > 1`.
 */
export class SequenceState {
  readonly reqId: RequestId;
  readonly index: number;
  readonly params: SamplingParamsData;
  readonly times: SequenceTimes;
  readonly tokenIds: number[] = [];
  readonly logprobs: TokenLogprobs[] | null;
  cumulativeLogprob: number | null;
  finishReason: FinishReason | null = null;
  stopReason: number | string | null = null;
  numPreemptions = 0;
  private text = '';
  private readonly detokenizer: Detokenizer;
  /** Characters withheld while streaming so a partial stop string is never shown. */
  private readonly stopBufferLength: number;
  private sentChars = 0;
  private sentTokens = 0;
  private sentFinish = false;

  /**
   * @param reqId the id the engine core knows this sequence by
   * @param index position among the request's sequences
   * @param params the sequence's sampling settings
   * @param detokenizer a fresh streaming detokenizer
   * @param arrivalTime when the request reached the front end
   */
  constructor(reqId: RequestId, index: number, params: SamplingParamsData, detokenizer: Detokenizer, arrivalTime: number) {
    this.reqId = reqId;
    this.index = index;
    this.params = params;
    this.detokenizer = detokenizer;
    this.logprobs = params.logprobs === null ? null : [];
    this.cumulativeLogprob = params.logprobs === null ? null : 0;
    this.stopBufferLength =
      params.stop.length > 0 && !params.includeStopStrInOutput ? Math.max(...params.stop.map((s) => s.length)) - 1 : 0;
    this.times = { arrivalTime, queuedTs: null, scheduledTs: null, firstTokenTs: null, lastTokenTs: null };
  }

  /** True once the sequence has a finish reason. */
  get isFinished(): boolean {
    return this.finishReason !== null;
  }

  /** True when a `delta` output would carry something: new tokens, new text, or the finish. */
  get hasNews(): boolean {
    return this.tokenIds.length > this.sentTokens || (this.isFinished && !this.sentFinish);
  }

  /**
   * Applies one engine output: appends tokens and logprobs, detokenizes, checks stop strings.
   * Outputs arriving after the sequence finished (tokens in flight when a stop string matched) are dropped.
   *
   * @param ids the tokens the engine core appended this step
   * @param extras the step's finish, logprobs and events for this sequence (null: none)
   * @returns true when a stop string ended the sequence here while the engine still runs it (abort it there)
   */
  update(ids: readonly number[], extras: EngineCoreOutputExtras | null): boolean {
    if (this.isFinished) return false;
    for (const id of ids) this.tokenIds.push(id);
    const finishReason = extras === null ? null : extras.finishReason;
    const newLogprobs = extras === null ? null : extras.newLogprobs;
    if (this.logprobs !== null && newLogprobs !== null) {
      for (const lp of newLogprobs) {
        this.logprobs.push(lp);
        this.cumulativeLogprob = (this.cumulativeLogprob ?? 0) + lp.chosen.logprob;
      }
    }
    // NOTE: a stop *token* (EOS or stopTokenIds, found by the engine) stays in tokenIds but its text is not shown.
    const skipLast = finishReason === 'stop' && !this.params.includeStopStrInOutput && ids.length > 0;
    const before = this.text.length;
    const visibleIds = skipLast ? ids.slice(0, -1) : ids;
    if (visibleIds.length > 0) this.text += this.detokenizer.push(visibleIds);
    if (finishReason !== null) this.text += this.detokenizer.flush?.() ?? '';
    if (this.params.stop.length > 0 && this.tokenIds.length > this.params.minTokens) {
      const match = findStopString(this.text, this.text.length - before, this.params.stop, this.params.includeStopStrInOutput);
      if (match !== null) {
        if (match.truncateTo !== -1) this.text = this.text.slice(0, Math.max(match.truncateTo, this.sentChars));
        this.finishReason = 'stop';
        this.stopReason = match.stop;
        return finishReason === null;
      }
    }
    if (finishReason !== null) {
      this.finishReason = finishReason;
      this.stopReason = extras === null ? null : extras.stopReason;
    }
    return false;
  }

  /**
   * Ends the sequence from the front end (abort, error) unless it already finished.
   * @param reason the finish reason to report
   */
  finish(reason: FinishReason): void {
    if (this.isFinished) return;
    this.finishReason = reason;
    this.stopReason = null;
  }

  /**
   * The sequence as a {@link CompletionOutput}; with `delta`, only what was not returned before
   * (and marks it returned).
   * @param kind output kind of the request
   */
  completion(kind: OutputKind): CompletionOutput {
    const visible = this.isFinished ? this.text : this.text.slice(0, Math.max(this.sentChars, this.text.length - this.stopBufferLength));
    const delta = kind === 'delta';
    const out: CompletionOutput = {
      index: this.index,
      text: delta ? visible.slice(this.sentChars) : visible,
      tokenIds: delta ? this.tokenIds.slice(this.sentTokens) : this.tokenIds.slice(),
      cumulativeLogprob: this.cumulativeLogprob,
      logprobs: this.logprobs === null ? null : delta ? this.logprobs.slice(this.sentTokens) : this.logprobs.slice(),
      finishReason: this.finishReason,
      stopReason: this.stopReason,
    };
    if (delta) {
      this.sentChars = visible.length;
      this.sentTokens = this.tokenIds.length;
      this.sentFinish = this.isFinished;
    }
    return out;
  }
}
