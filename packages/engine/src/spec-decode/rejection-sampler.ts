import { InvalidArgumentError, invariant, type SamplingParamsData } from '@vllm-ts/core';
import type { RandomGenerator } from '../sample/random-generator.js';
import type { Sampler } from '../sample/sampler.js';

/** One request's verification step: the target logits of its k draft positions and its bonus position. */
export interface DraftVerification {
  /** Logits buffer holding the rows below (`vocabSize` floats per row). */
  readonly logits: Float32Array;
  /** Row of each scored position: `rows[i]` scores draft i (i < k), `rows[k]` is the bonus position. */
  readonly rows: readonly number[];
  /** The k proposed tokens (n-gram drafts: draft probability 1). */
  readonly draftTokenIds: readonly number[];
  /** The request's sampling params. */
  readonly params: SamplingParamsData;
  /** Its prompt (for the repetition penalty). */
  readonly promptTokenIds: readonly number[];
  /** Tokens it generated before this step (penalties and min-tokens count them). */
  readonly outputTokenIds: readonly number[];
  /** The request's own stream when seeded, else the engine's. */
  readonly generator: RandomGenerator;
}

/** What verification produced for one request. */
export interface RejectionSampleResult {
  /** Tokens to emit, 1..k+1: the accepted drafts, then the recovered (on rejection) or bonus token. */
  readonly tokenIds: number[];
  /** Drafts accepted (`tokenIds.length - 1`); position i was accepted iff `i < numAccepted`. */
  readonly numAccepted: number;
}

/**
 * Verifies n-gram drafts against the target model the way vLLM V1's rejection sampler does
 * (Leviathan et al., arXiv 2211.17192, with draft probability q = 1 on the proposed token).
 * Each position's target distribution is the engine {@link Sampler}'s: min-tokens masking and
 * penalties over the prompt and the tokens before that position (accepted drafts included), then
 * temperature, min-p, top-k and top-p.
 *
 * - Greedy: emit the target argmax at each position; stop after the first position where the
 *   draft differs from it (the argmax is the correction); the bonus argmax when all match.
 * - Random: accept draft d with probability min(1, p(d) / 1) = p(d); on rejection emit a token
 *   drawn from normalize(max(p - onehot(d), 0)), i.e. p with d removed, and stop; when all are
 *   accepted, sample the bonus from the last position. Every emitted token is then distributed
 *   exactly as sampling from the target without speculation.
 *
 * Draws come only from the request's generator, so a seeded request is reproducible on its own.
 */
export class RejectionSampler {
  /** @param sampler the engine's sampler for this model (vocab size and EOS ids) */
  constructor(readonly sampler: Sampler) {}

  /**
   * Verifies one request's drafts.
   * @param input logits rows, drafts, params, tokens so far and generator of one request
   * @returns the tokens to emit and how many drafts were accepted
   * @throws {InvalidArgumentError} `invalid_draft` when `rows.length !== draftTokenIds.length + 1` or a draft is outside the vocabulary
   */
  sample(input: DraftVerification): RejectionSampleResult {
    const { logits, rows, draftTokenIds: drafts } = input;
    const V = this.sampler.vocabSize;
    if (rows.length !== drafts.length + 1) {
      throw new InvalidArgumentError('invalid_draft', 'RejectionSampler.sample', 'rows', `one row per draft plus the bonus row (${drafts.length + 1})`, rows.length);
    }
    for (let i = 0; i < drafts.length; i++) {
      const d = drafts[i]!;
      if (!Number.isInteger(d) || d < 0 || d >= V) {
        throw new InvalidArgumentError('invalid_draft', 'RejectionSampler.sample', `draftTokenIds[${i}]`, `a token id in [0, ${V})`, d);
      }
    }
    const outputs = input.outputTokenIds.slice();
    const ctx = { params: input.params, promptTokenIds: input.promptTokenIds, outputTokenIds: outputs, generator: input.generator };
    const tokenIds: number[] = [];
    for (let i = 0; i < drafts.length; i++) {
      invariant((rows[i]! + 1) * V <= logits.length, () => `logits row ${rows[i]} is past the buffer (${logits.length} floats)`);
      const { accepted, token } = this.sampler.verifyDraft(logits, rows[i]! * V, ctx, drafts[i]!);
      tokenIds.push(token);
      if (!accepted) return { tokenIds, numAccepted: i };
      outputs.push(token);
    }
    const bonusRow = rows[drafts.length]!;
    invariant((bonusRow + 1) * V <= logits.length, () => `logits row ${bonusRow} is past the buffer (${logits.length} floats)`);
    tokenIds.push(this.sampler.sample(logits, bonusRow * V, ctx));
    return { tokenIds, numAccepted: drafts.length };
  }
}
