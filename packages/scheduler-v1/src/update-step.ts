import {
  finishReasonOf,
  RequestStatus,
  type EngineCoreOutput,
  type FinishedStatus,
  type ModelRunnerOutput,
  type SchedulerOutput,
} from '@vllm-ts/core';
import { checkStop } from './check-stop.js';
import type { Request } from './request.js';
import { badRunnerOutput } from './scheduler-io.js';
import type { SpecDecodingCounters } from './spec-decoding-counters.js';

const NO_TOKENS: readonly number[] = Object.freeze([]);

/**
 * What {@link applyRunnerOutput} needs from the scheduler.
 * @internal
 */
export interface UpdateContext {
  readonly maxModelLen: number;
  readonly spec: SpecDecodingCounters;
  /** Frees a finished request's blocks and queues its id for the next step's `finishedReqIds`. */
  release(request: Request): void;
}

/**
 * Applies one step's runner output to the requests of its batch, in batch order: corrects
 * `numComputedTokens` for rejected drafts, appends sampled tokens, checks stop conditions
 * (truncating a multi-token step at the stop), gives finished requests their status and releases
 * them. Requests no longer RUNNING (aborted while the step ran) are skipped.
 *
 * Only requests with news (tokens, a finish, prompt logprobs or lifecycle events) get an output,
 * so a step of chunked prefills emits nothing for them.
 * @internal
 * @param batch the step's requests, in `numScheduledTokens` order
 * @param schedulerOutput the step's output
 * @param runnerOutput the runner's result for it
 * @param ctx the scheduler's side
 * @param outputs receives one output per request with news
 * @returns how many requests finished
 * @throws InvalidArgumentError (`invalid_runner_output`) for tokens sampled while prefilling or
 *   more than the drafts + 1
 */
export function applyRunnerOutput(
  batch: readonly Request[],
  schedulerOutput: SchedulerOutput,
  runnerOutput: ModelRunnerOutput,
  ctx: UpdateContext,
  outputs: EngineCoreOutput[],
): number {
  let numFinished = 0;
  const maxModelLen = ctx.maxModelLen;
  const sampledMap = runnerOutput.sampledTokenIds;
  const specMap = schedulerOutput.scheduledSpecDecodeTokens.size > 0 ? schedulerOutput.scheduledSpecDecodeTokens : null;
  const logprobsMap = runnerOutput.logprobs.size > 0 ? runnerOutput.logprobs : null;
  const promptLogprobsMap = runnerOutput.promptLogprobs.size > 0 ? runnerOutput.promptLogprobs : null;
  for (let b = 0; b < batch.length; b++) {
    const req = batch[b]!;
    if (req.status !== RequestStatus.RUNNING) continue;
    const reqId = req.reqId;
    let generated = sampledMap.get(reqId) ?? NO_TOKENS;
    const drafts = specMap === null ? undefined : specMap.get(reqId);
    if (drafts !== undefined && generated.length > 0) {
      if (generated.length > drafts.length + 1) badRunnerOutput(reqId, `at most ${drafts.length + 1} sampled tokens`, generated.length);
      const accepted = generated.length - 1;
      req.numComputedTokens -= drafts.length - accepted;
      ctx.spec.record(drafts.length, accepted);
    } else if (generated.length > 1) badRunnerOutput(reqId, 'at most 1 sampled token (no drafts were scheduled)', generated.length);
    if (generated.length > 0 && req.numComputedTokens < req.numTokens) {
      badRunnerOutput(reqId, `no sampled token while prefilling (${req.numComputedTokens} of ${req.numTokens} tokens computed)`, generated.length);
    }
    let status: FinishedStatus | null = null;
    for (let t = 0; t < generated.length; t++) {
      req.appendOutputToken(generated[t]!);
      status = checkStop(req, maxModelLen);
      if (status !== null) {
        if (t + 1 < generated.length) generated = generated.slice(0, t + 1);
        break;
      }
    }
    const promptLogprobs = promptLogprobsMap === null ? null : (promptLogprobsMap.get(reqId) ?? null);
    if (generated.length === 0 && status === null && promptLogprobs === null && !req.hasEvents) continue;
    let logprobs = logprobsMap === null ? null : (logprobsMap.get(reqId) ?? null);
    if (logprobs !== null && logprobs.length > generated.length) logprobs = logprobs.slice(0, generated.length);
    outputs.push({
      reqId,
      newTokenIds: generated,
      finishReason: status === null ? null : finishReasonOf(status),
      stopReason: status === null ? null : req.stopReason,
      newLogprobs: logprobs,
      newPromptLogprobs: promptLogprobs,
      numCachedTokens: req.numCachedTokens > 0 ? req.numCachedTokens : 0,
      events: req.takeEvents(),
    });
    if (status !== null) {
      req.status = status;
      numFinished++;
      ctx.release(req);
    }
  }
  return numFinished;
}
