import { GREEDY_TEMPERATURE_EPSILON, type SamplingParamsData } from '@vllm-ts/core';
import type { RandomGenerator } from './random-generator.js';

/** What the sampler needs to know about one request at one position. */
export interface SampleContext {
  readonly params: SamplingParamsData;
  readonly promptTokenIds: readonly number[];
  /** Tokens generated before this position (accepted drafts of this step included). */
  readonly outputTokenIds: readonly number[];
  /** The request's own stream when seeded, else the engine's. */
  readonly generator: RandomGenerator;
}

/**
 * Turns one row of logits into a token the way vLLM V1's sampler does: on the raw logits, the
 * allowed-token-ids mask, min-tokens masking, the logit bias, then penalties (repetition over
 * prompt and output; frequency and presence over the output); then greedy argmax, or temperature, min-p, top-k, top-p and one draw from the
 * request's generator. One uniform draw per sampled token (inverse CDF over token ids in
 * order), so a seeded request's stream depends only on its own draws.
 */
export class Sampler {
  private readonly work: Float64Array;
  private readonly values: Float64Array;

  /**
   * @param vocabSize logits per row
   * @param eosTokenIds the model's EOS ids (masked while below `minTokens` unless `ignoreEos`)
   */
  constructor(
    readonly vocabSize: number,
    readonly eosTokenIds: readonly number[],
  ) {
    this.work = new Float64Array(vocabSize);
    this.values = new Float64Array(vocabSize);
  }

  /**
   * Samples one token.
   * @param logits logits buffer
   * @param offset start of this position's row
   * @param ctx the request's params, tokens and generator
   * @returns the token id
   */
  sample(logits: Float32Array, offset: number, ctx: SampleContext): number {
    if (this.process(logits, offset, ctx)) return this.argmax();
    return this.draw(ctx.generator.nextDouble());
  }

  /**
   * The final sampling distribution (after penalties, temperature, min-p, top-k, top-p) of one
   * position, normalised; for greedy requests a one-hot at the argmax.
   * @param logits logits buffer
   * @param offset start of this position's row
   * @param ctx the request's params and tokens
   * @returns probabilities per token id; a view valid until the next call
   */
  probabilities(logits: Float32Array, offset: number, ctx: SampleContext): Float64Array {
    if (this.process(logits, offset, ctx)) {
      const best = this.argmax();
      this.work.fill(0);
      this.work[best] = 1;
    }
    return this.work;
  }

  /**
   * Verifies one draft token against the target distribution (ngram drafts: draft probability 1).
   * Greedy: accepted when it equals the argmax, else the argmax is the correction. Random: accepted
   * with probability `p(draft)`, else a recovered token drawn from `p` with the draft removed.
   *
   * @param logits logits buffer
   * @param offset start of the row scoring the draft's position
   * @param ctx the request's params, tokens (preceding drafts included) and generator
   * @param draft the proposed token
   * @returns `accepted` and, when rejected, the token to emit instead
   */
  verifyDraft(logits: Float32Array, offset: number, ctx: SampleContext, draft: number): { accepted: boolean; token: number } {
    if (this.process(logits, offset, ctx)) {
      const best = this.argmax();
      return { accepted: best === draft, token: best };
    }
    const p = this.work;
    const u = ctx.generator.nextDouble();
    if (p[draft]! > 0 && p[draft]! >= u) return { accepted: true, token: draft };
    const rest = 1 - p[draft]!;
    p[draft] = 0;
    if (rest <= 0) return { accepted: false, token: this.argmaxOf(p) };
    return { accepted: false, token: this.draw(ctx.generator.nextDouble() * rest) };
  }

  /** Fills `work` with processed logits (greedy) or probabilities (random); returns true when greedy. */
  private process(logits: Float32Array, offset: number, ctx: SampleContext): boolean {
    const V = this.vocabSize;
    const w = this.work;
    const p = ctx.params;
    if (p.allowedTokenIds === null) {
      for (let i = 0; i < V; i++) w[i] = logits[offset + i]!;
    } else {
      w.fill(-Infinity);
      for (const t of p.allowedTokenIds) if (t < V) w[t] = logits[offset + t]!;
    }
    if (ctx.outputTokenIds.length < p.minTokens) {
      for (const t of p.stopTokenIds) if (t < V) w[t] = -Infinity;
      if (!p.ignoreEos) for (const t of this.eosTokenIds) if (t < V) w[t] = -Infinity;
    }
    if (p.logitBias !== null) {
      for (const key in p.logitBias) {
        const t = Number(key);
        if (t < V) w[t] = w[t]! + p.logitBias[t]!;
      }
    }
    this.applyPenalties(ctx);
    if (p.temperature < GREEDY_TEMPERATURE_EPSILON) return true;

    const invT = 1 / p.temperature;
    let max = -Infinity;
    for (let i = 0; i < V; i++) {
      w[i] = w[i]! * invT;
      if (w[i]! > max) max = w[i]!;
    }
    let sum = 0;
    for (let i = 0; i < V; i++) {
      const e = Math.exp(w[i]! - max);
      w[i] = e;
      sum += e;
    }
    // min-p: drop tokens below minP times the top probability (top prob = 1 / sum here).
    if (p.minP > 0) {
      const threshold = p.minP;
      for (let i = 0; i < V; i++) if (w[i]! < threshold) w[i] = 0;
    }
    if ((p.topK > 0 && p.topK < V) || p.topP < 1) this.topKTopP(p.topK, p.topP);
    sum = 0;
    for (let i = 0; i < V; i++) sum += w[i]!;
    const inv = 1 / sum;
    for (let i = 0; i < V; i++) w[i] = w[i]! * inv;
    return false;
  }

  private applyPenalties(ctx: SampleContext): void {
    const { repetitionPenalty: rep, frequencyPenalty: freq, presencePenalty: pres } = ctx.params;
    const w = this.work;
    const V = this.vocabSize;
    if (rep !== 1) {
      const seen = new Set<number>();
      for (const t of ctx.promptTokenIds) seen.add(t);
      for (const t of ctx.outputTokenIds) seen.add(t);
      for (const t of seen) {
        if (t >= V) continue;
        const x = w[t]!;
        w[t] = x > 0 ? x / rep : x * rep;
      }
    }
    if (freq !== 0 || pres !== 0) {
      const counts = new Map<number, number>();
      for (const t of ctx.outputTokenIds) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const [t, c] of counts) if (t < V) w[t] = w[t]! - freq * c - pres;
    }
  }

  /**
   * Keeps the top-k, then the smallest top set whose mass reaches topP (vLLM: drop tokens whose
   * ascending cumulative probability stays at or below 1 - topP, always keeping the top one).
   *
   * NOTE: only candidates at or above a threshold are sorted. The threshold starts at max / 16 and
   * falls until the candidates hold the top-k set (`>= topK` of them) and, without top-k, at least
   * `topP` of the mass: every token below it is then dropped by the rule above anyway (its
   * ascending cumulative mass stays within `1 - topP`). A flat row falls back to sorting all.
   */
  private topKTopP(topK: number, topP: number): void {
    const V = this.vocabSize;
    const w = this.work;
    let max = 0;
    let allMass = 0;
    let positives = 0;
    for (let i = 0; i < V; i++) {
      const x = w[i]!;
      if (x > 0) {
        positives++;
        allMass += x;
        if (x > max) max = x;
      }
    }
    const needK = topK > 0 ? Math.min(topK, positives) : 0;
    let threshold = max / 16;
    let n = 0;
    let mass = 0;
    for (;;) {
      n = 0;
      mass = 0;
      for (let i = 0; i < V; i++) {
        const x = w[i]!;
        if (x > 0 && x >= threshold) {
          this.values[n++] = x;
          mass += x;
        }
      }
      const holdsTopK = n >= needK;
      const holdsMass = topK > 0 || topP >= 1 || mass >= topP * allMass;
      if ((holdsTopK && holdsMass) || threshold === 0) break;
      threshold = threshold < 1e-300 ? 0 : threshold / 256;
    }
    // The kept set is the top m by (probability desc, id asc): find m on the candidates' values
    // sorted natively (ascending), then keep values above the m-th largest and, among ties with
    // it, the lowest ids.
    const a = this.values.subarray(0, n).sort();
    const keepK = topK > 0 ? Math.min(topK, n) : n;
    let m = keepK;
    if (topP < 1) {
      let kept = 0;
      for (let j = n - keepK; j < n; j++) kept += a[j]!;
      // Without top-k the tokens below the threshold are the start of the ascending sum.
      const total = topK > 0 ? kept : allMass;
      const limit = (1 - topP) * total;
      let cum = total - kept;
      for (let j = n - keepK; j < n - 1; j++) {
        cum += a[j]!;
        if (cum > limit) break;
        m--;
      }
    }
    const cut = a[n - m]!;
    let ties = 0;
    for (let j = n - m; j < n && a[j] === cut; j++) ties++;
    for (let i = 0; i < V; i++) {
      const x = w[i]!;
      if (x > cut) continue;
      if (x === cut && ties > 0) ties--;
      else w[i] = 0;
    }
  }

  private argmax(): number {
    return this.argmaxOf(this.work);
  }

  private argmaxOf(w: Float64Array): number {
    let best = 0;
    for (let i = 1; i < this.vocabSize; i++) if (w[i]! > w[best]!) best = i;
    return best;
  }

  /** Inverse CDF over token ids in order: the first id whose cumulative mass exceeds `u`. */
  private draw(u: number): number {
    const w = this.work;
    let cum = 0;
    let last = -1;
    for (let i = 0; i < this.vocabSize; i++) {
      if (w[i]! <= 0) continue;
      cum += w[i]!;
      last = i;
      if (u < cum) return i;
    }
    return last;
  }
}
