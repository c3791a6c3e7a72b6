import { invariant } from '@vllm-ts/core';

/**
 * One block of token slots per running request, side by side in one buffer: the tokens of a
 * request's current, not yet full block. Each step writes one token per decoding request; keeping
 * those writes in one buffer, rather than in every request's own history array scattered over the
 * heap, turns a cache miss per request into a sequential walk. A request copies its tail into its
 * history when the block fills (to hash it) and when it leaves the running set.
 * @internal
 */
export class TokenTails {
  /** Tokens per block (per slot). */
  readonly blockSize: number;
  /** `buf[slot * blockSize + position % blockSize]` holds the token at `position`. */
  buf: Int32Array;
  private free: number[] = [];
  private numSlots = 0;

  /**
   * @param blockSize tokens per block
   * @param initialSlots slots to reserve (the running set's expected size)
   */
  constructor(blockSize: number, initialSlots: number) {
    this.blockSize = blockSize;
    this.buf = new Int32Array(0);
    this.grow(Math.max(1, initialSlots));
  }

  /** Hands out a slot; returns its first index in {@link buf}. */
  acquire(): number {
    if (this.free.length === 0) this.grow(2 * this.numSlots);
    const slot = this.free.pop();
    invariant(slot !== undefined, 'a grown TokenTails has a free slot');
    return slot * this.blockSize;
  }

  /**
   * Takes a slot back.
   * @param base the index {@link acquire} returned
   */
  release(base: number): void {
    this.free.push(base / this.blockSize);
  }

  private grow(numSlots: number): void {
    const buf = new Int32Array(numSlots * this.blockSize);
    buf.set(this.buf);
    this.buf = buf;
    // Lowest slots on top of the stack, so the first requests get neighbouring slots.
    for (let s = numSlots - 1; s >= this.numSlots; s--) this.free.push(s);
    this.numSlots = numSlots;
  }
}
