import type { BlockHash } from '@vllm-ts/core';

/**
 * The prefix cache's hash -> block map, as an open-addressing table over typed arrays: linear
 * probing, a 32-bit fingerprint per slot, block ids as values (0, the null block, marks an empty
 * slot), and no stored keys: an entry's key is `keys[id]`, the hash its block holds, compared
 * only when the fingerprints match. A lookup reads one run of neighbouring slots instead of a
 * native map's bucket, entry and key string, so filling and hitting blocks in a large cache costs
 * about one cache miss each. The capacity is fixed (a power of two, at least twice the number of
 * blocks, which bounds the entries), so the table never rehashes.
 * @internal
 */
export class BlockHashTable {
  private readonly mask: number;
  // Slot i is slots[2i] (block id, 0 = empty) and slots[2i + 1] (fingerprint): one cache line
  // holds both, and a probe run.
  private readonly slots: Int32Array;
  private readonly keys: readonly (BlockHash | null)[];
  private count = 0;
  // Scratch of insertAllIfAbsent: the batch's fingerprints (grown on demand).
  private fps = new Int32Array(64);
  // The OR of the slots insertAllIfAbsent read ahead, kept so the reads are not dropped.
  private touched = 0;

  /**
   * @param maxEntries most entries ever held (the pool's block count)
   * @param keys the hash each block holds, by block id (read, never written: the owner keeps it
   *   current, and an entry's key is its block's)
   */
  constructor(maxEntries: number, keys: readonly (BlockHash | null)[]) {
    let capacity = 8;
    while (capacity < 2 * maxEntries) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(2 * capacity);
    this.keys = keys;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /**
   * The block stored for `hash`, or 0 when there is none.
   * @param hash a block hash
   */
  get(hash: BlockHash): number {
    const fp = fingerprint(hash);
    for (let i = fp & this.mask; ; i = (i + 1) & this.mask) {
      const id = this.slots[2 * i]!;
      if (id === 0) return 0;
      if (this.slots[2 * i + 1] === fp && this.keys[id] === hash) return id;
    }
  }

  /**
   * Stores `id` for `hash` unless an entry for `hash` exists.
   * @param hash the key (`keys[id]` must hold it from now on)
   * @param id a block id (> 0)
   * @returns 0 when inserted, else the block already stored for `hash` (nothing changes)
   */
  insertIfAbsent(hash: BlockHash, id: number): number {
    return this.insertWithFingerprint(hash, fingerprint(hash), id);
  }

  /**
   * {@link insertIfAbsent} for a batch of blocks, in order: their home slots are read first in a
   * tight loop of their own, so the cache misses of the batch (one per insert in a table larger
   * than the CPU caches) overlap instead of following each other.
   * @param ids blocks to insert (> 0), each under its key `keys[id]`, in `ids[0..n)`
   * @param n how many
   * @param out receives, per insert, 0 when inserted, else the block already stored for the key
   */
  insertAllIfAbsent(ids: Int32Array, n: number, out: Int32Array): void {
    if (this.fps.length < n) this.fps = new Int32Array(n);
    const fps = this.fps;
    const keys = this.keys;
    for (let k = 0; k < n; k++) fps[k] = fingerprint(keys[ids[k]!]!);
    const slots = this.slots;
    const mask = this.mask;
    let touched = 0;
    for (let k = 0; k < n; k++) touched |= slots[2 * (fps[k]! & mask)]!;
    this.touched = touched;
    for (let k = 0; k < n; k++) out[k] = this.insertWithFingerprint(keys[ids[k]!]!, fps[k]!, ids[k]!);
  }

  private insertWithFingerprint(hash: BlockHash, fp: number, id: number): number {
    let i = fp & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const held = this.slots[2 * i]!;
      if (held === 0) break;
      if (this.slots[2 * i + 1] === fp && this.keys[held] === hash) return held;
    }
    this.slots[2 * i] = id;
    this.slots[2 * i + 1] = fp;
    this.count++;
    return 0;
  }

  /**
   * Replaces the block stored for `hash` (which must be present).
   * @param hash the key
   * @param id the new block (`keys[id]` holds `hash`)
   * @returns false when `hash` is absent
   */
  replace(hash: BlockHash, id: number): boolean {
    const i = this.slotOf(hash);
    if (i < 0) return false;
    this.slots[2 * i] = id;
    return true;
  }

  /**
   * Removes the entry for `hash`, if any. Call it while `keys` still holds `hash` for the
   * entry's block.
   * @param hash the key
   * @returns true when an entry was removed
   */
  delete(hash: BlockHash): boolean {
    let i = this.slotOf(hash);
    if (i < 0) return false;
    // Backward-shift deletion: pull later entries of the run into the hole when their home slot
    // does not lie (cyclically) after the hole, so every entry stays reachable from its home.
    const mask = this.mask;
    const slots = this.slots;
    for (let j = (i + 1) & mask; slots[2 * j] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j + 1]! & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      slots[2 * i] = slots[2 * j]!;
      slots[2 * i + 1] = slots[2 * j + 1]!;
      i = j;
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = 0;
    this.count--;
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.slots.fill(0);
    this.count = 0;
  }

  private slotOf(hash: BlockHash): number {
    const fp = fingerprint(hash);
    for (let i = fp & this.mask; ; i = (i + 1) & this.mask) {
      const id = this.slots[2 * i]!;
      if (id === 0) return -1;
      if (this.slots[2 * i + 1] === fp && this.keys[id] === hash) return i;
    }
  }
}

/**
 * FNV-1a over the first 16 UTF-16 code units and the length. Block hashes are digests (random
 * bits, or base64 of them), so their leading characters alone spread well.
 */
function fingerprint(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  const n = s.length < 16 ? s.length : 16;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}
