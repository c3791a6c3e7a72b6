import { InvalidArgumentError, invariant } from '@vllm-ts/core';

/** Shape of a paged KV cache. */
export interface KVCacheShape {
  readonly numLayers: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly numKvHeads: number;
  readonly headDim: number;
}

/**
 * The paged KV cache on the CPU: per layer, one key and one value array laid out
 * `[block][slotInBlock][kvHead][headDim]`, so the vector of one head at one slot is contiguous.
 * Slot `s` is block `floor(s / blockSize)`, offset `s % blockSize` — the same slot mapping a GPU
 * paged-attention kernel uses.
 */
export class PagedKVCache implements KVCacheShape {
  readonly numLayers: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** Keys per layer. */
  readonly key: readonly Float32Array[];
  /** Values per layer. */
  readonly value: readonly Float32Array[];
  /** Floats per block per layer per tensor (`blockSize * numKvHeads * headDim`). */
  readonly blockStride: number;

  /**
   * @param shape the cache's shape; `numBlocks` may be 0 (an empty CPU swap space)
   * @throws InvalidArgumentError when a dimension is not a positive integer
   */
  constructor(shape: KVCacheShape) {
    for (const [k, v] of Object.entries(shape)) {
      const min = k === 'numBlocks' ? 0 : 1;
      if (!Number.isInteger(v) || v < min) {
        throw new InvalidArgumentError('invalid_option', 'KVCache', k, `an integer >= ${min}`, v);
      }
    }
    this.numLayers = shape.numLayers;
    this.numBlocks = shape.numBlocks;
    this.blockSize = shape.blockSize;
    this.numKvHeads = shape.numKvHeads;
    this.headDim = shape.headDim;
    this.blockStride = shape.blockSize * shape.numKvHeads * shape.headDim;
    const size = this.numBlocks * this.blockStride;
    this.key = Array.from({ length: this.numLayers }, () => new Float32Array(size));
    this.value = Array.from({ length: this.numLayers }, () => new Float32Array(size));
  }

  /**
   * Bytes one block takes across all layers, keys and values (float32).
   * @param shape layers, heads, head size and block size
   */
  static bytesPerBlock(shape: Omit<KVCacheShape, 'numBlocks'>): number {
    return 2 * shape.numLayers * shape.blockSize * shape.numKvHeads * shape.headDim * 4;
  }

  /**
   * Copies whole blocks (all layers, keys and values) from `src` to this cache.
   * @param src source cache of the same per-block shape (may be this cache)
   * @param pairs (source block, destination block) pairs
   */
  copyBlocksFrom(src: PagedKVCache, pairs: readonly (readonly [number, number])[]): void {
    invariant(src.blockStride === this.blockStride && src.numLayers === this.numLayers, 'KV caches of different block shapes');
    const n = this.blockStride;
    for (const [from, to] of pairs) {
      invariant(from >= 0 && from < src.numBlocks && to >= 0 && to < this.numBlocks, () => `block copy ${from} -> ${to} out of range`);
      for (let l = 0; l < this.numLayers; l++) {
        this.key[l]!.set(src.key[l]!.subarray(from * n, from * n + n), to * n);
        this.value[l]!.set(src.value[l]!.subarray(from * n, from * n + n), to * n);
      }
    }
  }
}
