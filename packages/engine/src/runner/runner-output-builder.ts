import { SampledTokenIds, type ModelRunnerOutput, type PromptLogprobsChunk, type RequestId, type TokenLogprobs } from '@vllm-ts/core';

/**
 * Collects one step's per-request results into a {@link ModelRunnerOutput}. Every model runner
 * builds its output through this class, so the output's layout is decided in one place: sampled
 * tokens go into a {@link SampledTokenIds} (columns in call order, which schedulers read without a
 * lookup per request when it is the batch order), the rarer logprobs into maps.
 */
export class RunnerOutputBuilder {
  readonly #sampled = new SampledTokenIds();
  readonly #logprobs = new Map<RequestId, readonly TokenLogprobs[]>();
  readonly #promptLogprobs = new Map<RequestId, PromptLogprobsChunk>();

  /**
   * Records the tokens sampled for a request (empty for a prefill chunk that samples nothing).
   * Call it once per scheduled request in the step's batch order, so the scheduler reads the rows
   * without lookups (any order stays correct).
   * @param reqId request id
   * @param tokens accepted drafts then the sampled token
   */
  sampled(reqId: RequestId, tokens: readonly number[]): void {
    this.#sampled.append(reqId, tokens);
  }

  /**
   * Records the logprobs of the sampled tokens, one entry per token.
   * @param reqId request id
   * @param entries logprobs of each sampled token
   */
  logprobs(reqId: RequestId, entries: readonly TokenLogprobs[]): void {
    this.#logprobs.set(reqId, entries);
  }

  /**
   * Records the prompt logprobs computed this step.
   * @param reqId request id
   * @param chunk first prompt position and one entry per position
   */
  promptLogprobs(reqId: RequestId, chunk: PromptLogprobsChunk): void {
    this.#promptLogprobs.set(reqId, chunk);
  }

  /** @returns the step's output */
  build(): ModelRunnerOutput {
    return { sampledTokenIds: this.#sampled, logprobs: this.#logprobs, promptLogprobs: this.#promptLogprobs };
  }
}
