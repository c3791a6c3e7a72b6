/**
 * Whether a V0 block manager can take a sequence group now: `ok` (it fits above the watermark),
 * `later` (it would fit once blocks are freed) or `never` (it needs more blocks than the pool can
 * ever lend while keeping the watermark free).
 */
export type AllocStatus = 'ok' | 'later' | 'never';

/**
 * V0's admission rule: leave at least `watermarkBlocks` free after taking `required` blocks.
 *
 * @param required blocks the group needs
 * @param numFree blocks free now
 * @param numUsable blocks the pool can lend at all (the null block excluded)
 * @param watermarkBlocks blocks that must stay free
 * @returns `never` when even an empty pool could not take it, else `ok` or `later`
 */
export function watermarkStatus(required: number, numFree: number, numUsable: number, watermarkBlocks: number): AllocStatus {
  if (numUsable - required < watermarkBlocks) return 'never';
  return numFree - required >= watermarkBlocks ? 'ok' : 'later';
}

/**
 * Blocks touched by writing `n` slots after `numSlots` written ones, each counted as a new block
 * (a copy-on-write or a fresh one), as V0's `can_append_slots` does.
 * @param numSlots slots already written
 * @param n slots to write (unseen tokens plus lookahead)
 * @param blockSize tokens per block
 */
export function blocksTouched(numSlots: number, n: number, blockSize: number): number {
  if (n <= 0) return 0;
  const firstChunk = blockSize - (numSlots % blockSize);
  return 1 + Math.max(0, Math.ceil((n - firstChunk) / blockSize));
}
