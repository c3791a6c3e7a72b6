import { invariant } from '@vllm-ts/core';

/**
 * A window of a few blocks of token slots per running request, side by side in one buffer: the
 * latest tokens of a request, not yet copied into its history. Each step writes one token per
 * decoding request; keeping those writes in one buffer, rather than in every request's own history
 * array scattered over the heap, turns a cache miss per request into a sequential walk. A full
 * block is hashed from here, and a request copies its window into its history when the window
 * fills (a sequential copy every few blocks instead of a scattered one per block) and when it
 * leaves the running set.
 * @internal
 */
export class TokenTails {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Tokens per slot: a whole number of blocks. */
  readonly slotSize: number;
  /** `buf[slotBase + position % slotSize]` holds the token at `position`. */
  buf: Int32Array;
  private free: number[] = [];
  private numSlots = 0;

  /**
   * @param blockSize tokens per block
   * @param initialSlots slots to reserve (the running set's expected size)
   * @param blocksPerSlot blocks per window (default 16: a copy into the history every 16 blocks;
   *   the scheduler asks for 256 tokens' worth, 1 KiB a running request)
   */
  constructor(blockSize: number, initialSlots: number, blocksPerSlot = 16) {
    this.blockSize = blockSize;
    this.slotSize = blockSize * blocksPerSlot;
    this.buf = new Int32Array(0);
    this.grow(Math.max(1, initialSlots));
  }

  /** Hands out a slot; returns its first index in {@link buf}. */
  acquire(): number {
    if (this.free.length === 0) this.grow(2 * this.numSlots);
    const slot = this.free.pop();
    invariant(slot !== undefined, 'a grown TokenTails has a free slot');
    return slot * this.slotSize;
  }

  /**
   * Takes a slot back.
   * @param base the index {@link acquire} returned
   */
  release(base: number): void {
    this.free.push(base / this.slotSize);
  }

  private grow(numSlots: number): void {
    const buf = new Int32Array(numSlots * this.slotSize);
    buf.set(this.buf);
    this.buf = buf;
    // Lowest slots on top of the stack, so the first requests get neighbouring slots.
    for (let s = numSlots - 1; s >= this.numSlots; s--) this.free.push(s);
    this.numSlots = numSlots;
  }
}
