import fc from 'fast-check';

/**
 * One random operation on a V0 block manager. `pick` chooses among the live sequences (modulo
 * their count); an operation that does not apply to the picked sequence (append to a swapped-out
 * one, swap in one on the device) is skipped.
 */
export type V0Operation =
  | { readonly kind: 'add'; readonly len: number }
  | { readonly kind: 'append'; readonly pick: number; readonly n: number }
  | { readonly kind: 'fork'; readonly pick: number }
  | { readonly kind: 'swapOut'; readonly pick: number }
  | { readonly kind: 'swapIn'; readonly pick: number }
  | { readonly kind: 'mark'; readonly pick: number }
  | { readonly kind: 'free'; readonly pick: number }
  | { readonly kind: 'misuse'; readonly pick: number; readonly variant: MisuseVariant };

/**
 * A call that must throw and change nothing: `reallocate` (a second table for a live sequence),
 * `forkOnto` (fork a sequence onto its own id), `wrongDevice` (append to a swapped-out sequence,
 * or swap in one on the device), `unknown` (read the table of a sequence that never existed).
 */
export type MisuseVariant = 'reallocate' | 'forkOnto' | 'wrongDevice' | 'unknown';

/** Which operations {@link v0Operations} draws, and how long prompts and appends get. */
export interface V0OperationOptions {
  /** Include `mark` (`markScheduled`, which a prefix cache needs to count hits). Default false. */
  readonly markScheduled?: boolean;
  /** Longest prompt of an `add`. Default 14. */
  readonly maxPromptLen?: number;
  /** Most tokens one `append` adds. Default 6. */
  readonly maxAppend?: number;
}

/**
 * The arbitrary of one random V0 block-manager operation.
 * @param options which operations to draw and their sizes
 * @returns an arbitrary of {@link V0Operation}
 */
export function v0Operation(options: V0OperationOptions = {}): fc.Arbitrary<V0Operation> {
  const { markScheduled = false, maxPromptLen = 14, maxAppend = 6 } = options;
  const pick = fc.nat();
  const ops: fc.WeightedArbitrary<V0Operation>[] = [
    { arbitrary: fc.record({ kind: fc.constant('add' as const), len: fc.integer({ min: 1, max: maxPromptLen }) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('append' as const), pick, n: fc.integer({ min: 1, max: maxAppend }) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('fork' as const), pick }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('swapOut' as const), pick }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('swapIn' as const), pick }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('free' as const), pick }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('misuse' as const), pick, variant: fc.constantFrom<MisuseVariant>('reallocate', 'forkOnto', 'wrongDevice', 'unknown') }), weight: 1 },
  ];
  if (markScheduled) ops.push({ arbitrary: fc.record({ kind: fc.constant('mark' as const), pick }), weight: 3 });
  return fc.oneof(...ops);
}
