import { afterEach, describe, expect, it } from 'vitest';
import { synchronizeDevice } from '../device.js';
import { roundToDType } from '../dtype.js';
import { applyPenaltiesReference, argmaxReference, samplingDistributionReference } from '../reference/sampling.js';
import type { RowSamplingParams } from '../reference/sampling.js';
import { FLOAT_DTYPES, TensorScope, cudaAvailable, gpuSuite } from '../testing/gpu.js';
import { Rng, relativeError } from '../testing/random.js';
import { applyPenalties, argmax, sample } from './sampling.js';

/** True when `pick` is what an inverse-CDF draw at `u` gives on `probs`, within `tol` of cumulative mass. */
function consistentDraw(probs: Float64Array, pick: number, u: number, tol: number): boolean {
  if (!(probs[pick]! > 0)) return false;
  let before = 0;
  for (let i = 0; i < pick; i++) before += probs[i]!;
  return before <= u + tol && before + probs[pick]! >= u - tol;
}

describe.skipIf(!cudaAvailable)(gpuSuite('sampling kernels'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  for (const dtype of FLOAT_DTYPES) {
    it(`argmax returns the first maximum of each row (${dtype})`, () => {
      const rng = new Rng();
      // Rows shorter than a block, with an unrolled body plus a tail, and Llama-3's vocabulary.
      for (const [rows, vocab] of [[5, 17], [40, 32_003], [3, 128_256]] as const) {
        const logits = rng.tensor(rows * vocab, dtype, 4);
        for (let r = 0; r < rows; r += 3) {
          const a = rng.int(0, vocab);
          const b = rng.int(0, vocab);
          logits[r * vocab + a] = logits[r * vocab + b] = 50; // a planted tie
        }
        const out = scope.poisoned([rows], 'int32');
        argmax(out, scope.from(roundToDType(logits, dtype), [rows, vocab], dtype));
        synchronizeDevice();
        expect([...out.toHost()], `seed ${rng.seed}, ${rows} x ${vocab}`).toEqual([...argmaxReference(logits, vocab)]);
      }
    });
  }

  it('sample draws from the temperature / min-p / top-k / top-p distribution', () => {
    const rng = new Rng();
    const [rows, vocab] = [96, 5003];
    const logits = rng.tensor(rows * vocab, 'float32', 3);
    const params: RowSamplingParams[] = [];
    for (let r = 0; r < rows; r++) {
      params.push({
        temperature: r % 8 === 0 ? 0 : 0.3 + rng.next() * 1.5,
        topK: [0, 1, 7, 64, 4000, vocab][rng.int(0, 6)]!,
        topP: [1, 0.95, 0.6, 0.2][rng.int(0, 4)]!,
        minP: [0, 0, 0.02, 0.3][rng.int(0, 4)]!,
      });
    }
    const uniform = Float32Array.from({ length: rows }, () => rng.next());
    const out = scope.poisoned([rows], 'int32');
    sample({
      out,
      logits: scope.from(logits, [rows, vocab], 'float32'),
      temperature: scope.from(params.map((p) => p.temperature), [rows], 'float32'),
      topK: scope.from(params.map((p) => p.topK), [rows], 'int32'),
      topP: scope.from(params.map((p) => p.topP), [rows], 'float32'),
      minP: scope.from(params.map((p) => p.minP), [rows], 'float32'),
      uniform: scope.from(uniform, [rows], 'float32'),
    });
    synchronizeDevice();
    const picks = out.toHost();
    const greedy = argmaxReference(logits, vocab);
    for (let r = 0; r < rows; r++) {
      const p = params[r]!;
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      const msg = `seed ${rng.seed}, row ${r}, ${JSON.stringify(p)}, u ${uniform[r]}, pick ${picks[r]}`;
      if (p.temperature === 0) {
        expect(picks[r], msg).toBe(greedy[r]);
        continue;
      }
      // A threshold within float32 rounding of a boundary may fall either way: accept both sides.
      const variants = [1 - 1e-4, 1, 1 + 1e-4].map((f) =>
        samplingDistributionReference(row, { ...p, topP: Math.min(p.topP * f, 1), minP: p.minP * f }),
      );
      expect(variants.some((probs) => consistentDraw(probs, picks[r]!, uniform[r]!, 1e-4)), msg).toBe(true);
    }
  });

  it('applyPenalties applies repetition, frequency and presence penalties like vLLM', () => {
    const rng = new Rng();
    const [rows, vocab, promptWidth, outputWidth] = [12, 3001, 40, 25];
    const logits = rng.tensor(rows * vocab, 'float32', 2);
    const prompt = Int32Array.from({ length: rows * promptWidth }, () => (rng.next() < 0.2 ? -1 : rng.int(0, 60)));
    const output = Int32Array.from({ length: rows * outputWidth }, () => (rng.next() < 0.2 ? -1 : rng.int(30, 90)));
    const repetition = Float32Array.from({ length: rows }, (_, r) => (r % 3 === 0 ? 1 : 0.8 + rng.next()));
    const frequency = Float32Array.from({ length: rows }, () => rng.next() - 0.5);
    const presence = Float32Array.from({ length: rows }, () => rng.next() * 2 - 1);
    const logitsDev = scope.from(logits, [rows, vocab], 'float32');
    applyPenalties({
      logits: logitsDev,
      counts: scope.poisoned([rows, vocab], 'int32'),
      promptTokens: scope.from(prompt, [rows, promptWidth], 'int32'),
      outputTokens: scope.from(output, [rows, outputWidth], 'int32'),
      repetition: scope.from(repetition, [rows], 'float32'),
      frequency: scope.from(frequency, [rows], 'float32'),
      presence: scope.from(presence, [rows], 'float32'),
    });
    synchronizeDevice();
    const ref = Float32Array.from(logits);
    for (let r = 0; r < rows; r++) {
      applyPenaltiesReference(ref.subarray(r * vocab, (r + 1) * vocab), {
        promptTokens: [...prompt.subarray(r * promptWidth, (r + 1) * promptWidth)],
        outputTokens: [...output.subarray(r * outputWidth, (r + 1) * outputWidth)],
        repetition: repetition[r]!,
        frequency: frequency[r]!,
        presence: presence[r]!,
      });
    }
    expect(relativeError(logitsDev.toHost(), ref), `seed ${rng.seed}`).toBeLessThan(1e-6);
  });
});
