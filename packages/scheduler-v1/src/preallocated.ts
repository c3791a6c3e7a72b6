/**
 * An array of length `n` with its storage allocated up front, to be filled by index: a step's
 * lists (a thousand entries at 1,024 running requests) then never regrow, which would copy them
 * a dozen times. Unfilled slots are holes; callers set `length` to what they filled.
 * @internal
 * @param n the expected number of entries
 */
export function preallocated<T>(n: number): T[] {
  // oxlint-disable-next-line unicorn/no-new-array -- the length form is the point: storage for n, no elements written
  return new Array<T>(n);
}
