/**
 * Seconds on a clock every thread of the process agrees on (epoch-based, sub-millisecond), so
 * timestamps taken in the engine-core worker and in the front end can be subtracted.
 * @returns seconds since the Unix epoch
 */
export function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
