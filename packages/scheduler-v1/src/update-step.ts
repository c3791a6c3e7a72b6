import {
  finishReasonOf,
  sampledTokenColumnsOf,
  RequestStatus,
  type EngineCoreOutputBatch,
  type FinishedStatus,
  type ModelRunnerOutput,
  type RequestEvent,
  type RequestId,
  type SchedulerOutput,
} from '@vllm-ts/core';
import { checkStop } from './check-stop.js';
import type { Request } from './request.js';
import { badRunnerOutput } from './scheduler-io.js';
import type { SpecDecodingCounters } from './spec-decoding-counters.js';

const NO_TOKENS: readonly number[] = Object.freeze([]);
const NO_EVENTS: readonly RequestEvent[] = Object.freeze([]);
const NO_IDS: readonly RequestId[] = Object.freeze([]);
const NO_OFFSETS = new Int32Array(0);

/**
 * What {@link applyRunnerOutput} needs from the scheduler.
 * @internal
 */
export interface UpdateContext {
  readonly maxModelLen: number;
  readonly spec: SpecDecodingCounters;
  /** Steps are pipelined: outputs arrive for steps scheduled after this one's (placeholders). */
  readonly asyncScheduling: boolean;
  /** Frees a finished request's blocks and queues its id for the next step's `finishedReqIds`. */
  release(request: Request): void;
  /** Takes a request out of the waiting queue (a preempted one that stopped on an in-flight token). */
  unqueue(request: Request): void;
}

/**
 * Applies one step's runner output to the requests of its batch, in batch order: corrects
 * `numComputedTokens` for rejected drafts, appends sampled tokens, checks stop conditions
 * (truncating a multi-token step at the stop), gives finished requests their status and releases
 * them. Requests finished since the step was scheduled (a stop in an earlier update, an abort)
 * are skipped: their tokens are dropped, with no row. Under async scheduling each sampled token
 * replaces a placeholder, and a request preempted while its step was in flight gets its token
 * appended (and checked) too, so it resumes with every token it produced.
 *
 * Only requests with news (tokens, a finish, prompt logprobs or lifecycle events) get an output,
 * so a step of chunked prefills emits nothing for them.
 * @internal
 * @param batch the step's requests, in `numScheduledTokens` order
 * @param samples per batch entry, 1 when the step samples for it; null when unknown (an output
 *   object the scheduler did not record)
 * @param schedulerOutput the step's output
 * @param runnerOutput the runner's result for it
 * @param ctx the scheduler's side
 * @param outputs receives one row per request with news, in batch order
 * @returns how many requests finished
 * @throws InvalidArgumentError (`invalid_runner_output`) for tokens sampled while prefilling,
 *   more than the drafts + 1, or (async scheduling) none for a step that samples
 */
export function applyRunnerOutput(
  batch: readonly Request[],
  samples: Uint8Array | null,
  schedulerOutput: SchedulerOutput,
  runnerOutput: ModelRunnerOutput,
  ctx: UpdateContext,
  outputs: EngineCoreOutputBatch,
): number {
  let numFinished = 0;
  const maxModelLen = ctx.maxModelLen;
  const pipelined = ctx.asyncScheduling;
  const sampledMap = runnerOutput.sampledTokenIds;
  const cols = sampledTokenColumnsOf(runnerOutput);
  const colIds = cols === null ? NO_IDS : cols.reqIds;
  const offsets = cols === null ? NO_OFFSETS : cols.offsets;
  const colTokens = cols === null ? NO_OFFSETS : cols.tokenIds;
  const specMap = schedulerOutput.scheduledSpecDecodeTokens.size > 0 ? schedulerOutput.scheduledSpecDecodeTokens : null;
  const logprobsMap = runnerOutput.logprobs.size > 0 ? runnerOutput.logprobs : null;
  const promptLogprobsMap = runnerOutput.promptLogprobs.size > 0 ? runnerOutput.promptLogprobs : null;
  // The plain decode entry (running, one token in the runner's row of the same index, sampled, no
  // drafts, logprobs or events) takes the short path; anything else the general one below.
  const plain = samples !== null && specMap === null && logprobsMap === null && promptLogprobsMap === null;
  for (let b = 0; b < batch.length; b++) {
    const req = batch[b]!;
    const before = req.status;
    if (plain && before === RequestStatus.RUNNING && samples[b] === 1 && b < colIds.length) {
      const reqId = req.reqId;
      const at = offsets[b]!;
      if (colIds[b] === reqId && offsets[b + 1]! - at === 1 && !req.hasEvents) {
        const t = colTokens[at]!;
        if (pipelined) req.numOutputPlaceholders--;
        req.appendOutputToken(t);
        const status = checkStop(req, maxModelLen);
        const numCached = req.numCachedTokens;
        const row = outputs.appendOne(reqId, t, numCached > 0 ? numCached : 0);
        if (status !== null) {
          outputs.setExtras(row, finishReasonOf(status), req.stopReason, null, null, NO_EVENTS);
          finish(req, status, before, ctx);
          numFinished++;
        }
        continue;
      }
    }
    // Finished since (stopped, aborted): drop. Preempted with this step in flight (async only):
    // the token is still its own, and it must have it to recompute.
    if (before !== RequestStatus.RUNNING && (before !== RequestStatus.PREEMPTED || !pipelined)) continue;
    const reqId = req.reqId;
    // The sampled tokens are source[first .. first + count): the runner's row b when it is this
    // request's (the usual case), else whatever the map view holds for the id.
    let source: ArrayLike<number>;
    let first: number;
    let count: number;
    if (b < colIds.length && colIds[b] === reqId) {
      source = colTokens;
      first = offsets[b]!;
      count = offsets[b + 1]! - first;
    } else {
      source = sampledMap.get(reqId) ?? NO_TOKENS;
      first = 0;
      count = source.length;
    }
    const drafts = specMap === null ? undefined : specMap.get(reqId);
    if (drafts !== undefined && count > 0) {
      if (count > drafts.length + 1) badRunnerOutput(reqId, `at most ${drafts.length + 1} sampled tokens`, count);
      const accepted = count - 1;
      req.numComputedTokens -= drafts.length - accepted;
      ctx.spec.record(drafts.length, accepted);
    } else if (count > 1) badRunnerOutput(reqId, 'at most 1 sampled token (no drafts were scheduled)', count);
    const sampling = samples === null ? (pipelined ? count > 0 : req.numComputedTokens >= req.numTokens) : samples[b] === 1;
    if (count > 0 && !sampling) badRunnerOutput(reqId, `no sampled token for a prefill chunk (${req.numComputedTokens} of ${req.numTokens} tokens computed)`, count);
    if (pipelined) {
      // A missing token would leave its placeholder (a position nobody will ever fill) for good.
      if (count === 0 && sampling) badRunnerOutput(reqId, '1 sampled token (the step samples for it; async scheduling counts on it)', count);
      req.numOutputPlaceholders -= count;
    }
    let status: FinishedStatus | null = null;
    let kept = 0;
    while (kept < count) {
      req.appendOutputToken(source[first + kept]!);
      kept++;
      status = checkStop(req, maxModelLen);
      if (status !== null) break;
    }
    const promptLogprobs = promptLogprobsMap === null ? null : (promptLogprobsMap.get(reqId) ?? null);
    const hasEvents = req.hasEvents;
    if (kept === 0 && status === null && promptLogprobs === null && !hasEvents) continue;
    const numCached = req.numCachedTokens > 0 ? req.numCachedTokens : 0;
    const row = kept === 1 ? outputs.appendOne(reqId, source[first]!, numCached) : outputs.append(reqId, source, first, kept, numCached);
    let logprobs = logprobsMap === null ? null : (logprobsMap.get(reqId) ?? null);
    if (logprobs !== null && logprobs.length > kept) logprobs = logprobs.slice(0, kept);
    if (status !== null || logprobs !== null || promptLogprobs !== null || hasEvents) {
      outputs.setExtras(
        row,
        status === null ? null : finishReasonOf(status),
        status === null ? null : req.stopReason,
        logprobs,
        promptLogprobs,
        hasEvents ? req.takeEvents() : NO_EVENTS,
      );
    }
    if (status !== null) {
      finish(req, status, before, ctx);
      numFinished++;
    }
  }
  return numFinished;
}

// Gives a request that stopped its finished status and releases it (out of the waiting queue first
// when it was preempted with this step in flight).
function finish(req: Request, status: FinishedStatus, before: RequestStatus, ctx: UpdateContext): void {
  req.status = status;
  if (before === RequestStatus.PREEMPTED) ctx.unqueue(req);
  ctx.release(req);
}
