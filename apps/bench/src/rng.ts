/**
 * A seeded pseudo-random generator (SplitMix32 state step, xorshift-multiply output): every
 * workload and arrival schedule of a benchmark is a pure function of its seed.
 */
export class SeededRandom {
  private state: number;

  /**
   * @param seed any integer; the same seed gives the same sequence
   */
  constructor(seed: number) {
    this.state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  /**
   * @returns a float uniform in [0, 1)
   */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  }

  /**
   * @param lo inclusive lower bound
   * @param hi inclusive upper bound
   * @returns an integer uniform in [lo, hi]
   */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /**
   * @returns a standard normal deviate (Box-Muller)
   */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /**
   * Gamma deviate by Marsaglia-Tsang; shapes below 1 use the `U^(1/k)` boost.
   * @param shape k > 0
   * @param scale theta > 0 (the mean is k * theta)
   * @returns a sample of Gamma(k, theta)
   */
  gamma(shape: number, scale: number): number {
    if (shape < 1) return this.gamma(shape + 1, scale) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v = (1 + c * x) ** 3;
      if (v <= 0) continue;
      const u = 1 - this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
    }
  }
}
