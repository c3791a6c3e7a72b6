import { invariant, type RequestId, type TokenLogprobs } from '@vllm-ts/core';
import { tokenLogprobs } from '../sample/logprobs.js';
import { RandomGenerator } from '../sample/random-generator.js';
import { Sampler } from '../sample/sampler.js';
import { RejectionSampler } from '../spec-decode/index.js';
import type { PlannedRequest } from './forward-batch-builder.js';
import type { ForkedRequest, RequestState } from './request-state.js';
import type { RunnerOutputBuilder } from './runner-output-builder.js';

/**
 * Sampling on the host from float32 logits rows: the full sampler (penalties, min-tokens, logit
 * limits), logprobs and prompt logprobs, draft verification by the {@link RejectionSampler}, and
 * V0 forks sampled from their parent's row. Appends sampled tokens to each request's state.
 */
export class HostSampler {
  readonly #vocabSize: number;
  readonly #rejectionSampler: RejectionSampler;
  readonly #engineGenerator: RandomGenerator;

  /**
   * @param vocabSize logits row width
   * @param eosTokenIds the model's EOS ids (min-tokens masks them)
   * @param seed seed of the engine's generator, used by unseeded requests
   */
  constructor(vocabSize: number, eosTokenIds: readonly number[], seed: number) {
    this.#vocabSize = vocabSize;
    this.#rejectionSampler = new RejectionSampler(new Sampler(vocabSize, eosTokenIds));
    this.#engineGenerator = new RandomGenerator(seed);
  }

  /**
   * Samples every planned request (and the forks of this step) and records the results.
   * @param requests planned requests; their row indices address `logits`
   * @param forks requests forked this step, sampled from their parent's last row
   * @param logits float32 rows of `vocabSize`
   * @param out where results go
   */
  sampleAll(requests: readonly PlannedRequest[], forks: readonly ForkedRequest[], logits: Float32Array, out: RunnerOutputBuilder): void {
    const V = this.#vocabSize;
    const lastRowOf = new Map<RequestId, number>();
    for (const r of requests) {
      const state = r.state;
      if (r.promptRows.length > 0) {
        const k = state.params.promptLogprobs!;
        const entries = r.promptRows.map((row, i) => tokenLogprobs(logits, row * V, V, state.tokens[r.promptStart + i]!, k));
        out.promptLogprobs(state.reqId, { start: r.promptStart, entries });
      }
      if (r.sampleRows.length === 0) {
        out.sampled(state.reqId, []);
        continue;
      }
      this.sampleOne(state, logits, r.sampleRows, r.drafts, out);
      lastRowOf.set(state.reqId, r.sampleRows[r.sampleRows.length - 1]!);
    }
    for (const { child, parent } of forks) {
      const row = lastRowOf.get(parent);
      invariant(row !== undefined, () => `forked request ${child.reqId} has no sampled parent ${parent} in this step`);
      this.sampleOne(child, logits, [row], [], out);
    }
  }

  /**
   * Samples one token from `rows[0]`, or verifies `drafts` against `rows[0..k]` and keeps the
   * accepted prefix plus the correction or bonus token; records tokens and logprobs.
   */
  private sampleOne(state: RequestState, logits: Float32Array, rows: readonly number[], drafts: readonly number[], out: RunnerOutputBuilder): void {
    const V = this.#vocabSize;
    const { tokenIds: tokens } = this.#rejectionSampler.sample({
      logits,
      rows,
      draftTokenIds: drafts,
      params: state.params,
      promptTokenIds: state.tokens.slice(0, state.numPromptTokens),
      outputTokenIds: state.tokens.slice(state.numPromptTokens),
      generator: state.generator ?? this.#engineGenerator,
    });
    out.sampled(state.reqId, tokens);
    const k = state.params.logprobs;
    if (k !== null) out.logprobs(state.reqId, tokens.map((t, i): TokenLogprobs => tokenLogprobs(logits, rows[i]! * V, V, t, k)));
    for (const t of tokens) state.tokens.push(t);
  }
}
