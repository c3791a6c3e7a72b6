import { InvalidArgumentError } from '@vllm-ts/core';
import { SeededRandom } from './rng.js';

/**
 * Request arrival offsets as vLLM's serving benchmark draws them: gaps from a gamma distribution with
 * shape `burstiness` and mean `1 / requestRate` (burstiness 1 = Poisson; below 1 burstier, above
 * more regular). The first request arrives at 0. An infinite rate sends everything at once.
 * @param n number of requests
 * @param requestRate requests per second (> 0, may be Infinity)
 * @param burstiness gamma shape (> 0). Default 1
 * @param seed RNG seed. Default 0
 * @returns `n` non-decreasing offsets in seconds
 * @throws InvalidArgumentError `invalid_option` for a non-positive rate or burstiness
 */
export function arrivalTimes(n: number, requestRate: number, burstiness = 1, seed = 0): number[] {
  if (!(requestRate > 0)) throw new InvalidArgumentError('invalid_option', 'arrivals', 'requestRate', 'a number > 0 (or inf)', requestRate);
  if (!(burstiness > 0) || !Number.isFinite(burstiness)) throw new InvalidArgumentError('invalid_option', 'arrivals', 'burstiness', 'a finite number > 0', burstiness);
  const out: number[] = Array.from({ length: n }, () => 0);
  if (requestRate === Infinity) return out;
  const rng = new SeededRandom(seed);
  const theta = 1 / (requestRate * burstiness);
  for (let i = 1; i < n; i++) out[i] = out[i - 1]! + rng.gamma(burstiness, theta);
  return out;
}

/**
 * Parses a `--request-rate` value: a positive number or `inf`.
 * @param raw the flag's text
 * @returns the rate
 * @throws InvalidArgumentError `invalid_option` otherwise
 */
export function parseRate(raw: string): number {
  if (raw === 'inf' || raw === 'Infinity') return Infinity;
  const v = Number(raw);
  if (!(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError('invalid_option', 'cli', '--request-rate', 'a number > 0 or "inf"', raw);
  return v;
}
