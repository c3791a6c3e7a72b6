// CPU references for rotary embedding, the paged KV write and paged attention, in float64.

/** Head geometry shared by the references. */
export interface HeadGeometry {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/**
 * Reference neox rotary embedding, in place on q [n, numHeads*headDim] and k [n, numKvHeads*headDim].
 * @param positions [n]
 * @param q queries (modified)
 * @param k keys (modified)
 * @param cosSin [maxPosition, rotaryDim]
 * @param rotaryDim rotated dims per head
 * @param g head geometry
 */
export function rotaryReference(
  positions: Int32Array,
  q: Float32Array,
  k: Float32Array,
  cosSin: Float32Array,
  rotaryDim: number,
  g: HeadGeometry,
): void {
  const half = rotaryDim / 2;
  positions.forEach((pos, t) => {
    for (const [buf, heads] of [[q, g.numHeads], [k, g.numKvHeads]] as const) {
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * g.headDim;
        for (let j = 0; j < half; j++) {
          const c = cosSin[pos * rotaryDim + j]!;
          const s = cosSin[pos * rotaryDim + half + j]!;
          const x1 = buf[base + j]!;
          const x2 = buf[base + j + half]!;
          buf[base + j] = x1 * c - x2 * s;
          buf[base + j + half] = x2 * c + x1 * s;
        }
      }
    }
  });
}

/**
 * Reference paged KV write into caches [numBlocks, blockSize, numKvHeads, headDim].
 * @param key [n, rowWidth]
 * @param value [n, rowWidth]
 * @param keyCache modified
 * @param valueCache modified
 * @param slotMapping [n]; negative skips
 * @param rowWidth numKvHeads * headDim
 */
export function writeKvCacheReference(
  key: Float32Array,
  value: Float32Array,
  keyCache: Float32Array,
  valueCache: Float32Array,
  slotMapping: Int32Array,
  rowWidth: number,
): void {
  slotMapping.forEach((slot, t) => {
    if (slot < 0) return;
    keyCache.set(key.subarray(t * rowWidth, (t + 1) * rowWidth), slot * rowWidth);
    valueCache.set(value.subarray(t * rowWidth, (t + 1) * rowWidth), slot * rowWidth);
  });
}

/** Inputs of {@link pagedAttentionReference}. */
export interface PagedAttentionReferenceArgs extends HeadGeometry {
  query: Float32Array;
  keyCache: Float32Array;
  valueCache: Float32Array;
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  blockSize: number;
  seqLens: Int32Array;
  /** Shape `[numSeqs + 1]`; decode is the case queryStartLoc = 0, 1, ..., numSeqs. */
  queryStartLoc: Int32Array;
  scale: number;
}

/**
 * Reference causal attention over a paged cache: query i of sequence s (q new tokens, seqLen
 * context) attends to positions 0 .. seqLen - q + i.
 * @param a inputs
 * @returns [numTokens, numHeads * headDim]
 */
export function pagedAttentionReference(a: PagedAttentionReferenceArgs): Float32Array {
  const { numHeads, numKvHeads, headDim: d, blockSize } = a;
  const numSeqs = a.seqLens.length;
  const numTokens = a.queryStartLoc[numSeqs]!;
  const out = new Float32Array(numTokens * numHeads * d);
  const group = numHeads / numKvHeads;
  const kvOffset = (s: number, pos: number, kvh: number) =>
    ((a.blockTables[s * a.maxBlocksPerSeq + Math.floor(pos / blockSize)]! * blockSize + (pos % blockSize)) * numKvHeads + kvh) * d;
  for (let s = 0; s < numSeqs; s++) {
    const start = a.queryStartLoc[s]!;
    const qLen = a.queryStartLoc[s + 1]! - start;
    const ctx = a.seqLens[s]!;
    for (let i = 0; i < qLen; i++) {
      const limit = ctx - qLen + i;
      for (let h = 0; h < numHeads; h++) {
        const kvh = Math.floor(h / group);
        const qBase = ((start + i) * numHeads + h) * d;
        const logits = new Float64Array(limit + 1);
        let max = -Infinity;
        for (let p = 0; p <= limit; p++) {
          const kb = kvOffset(s, p, kvh);
          let dot = 0;
          for (let j = 0; j < d; j++) dot += a.query[qBase + j]! * a.keyCache[kb + j]!;
          logits[p] = dot * a.scale;
          max = Math.max(max, logits[p]!);
        }
        let sum = 0;
        for (let p = 0; p <= limit; p++) sum += logits[p] = Math.exp(logits[p]! - max);
        const acc = new Float64Array(d);
        for (let p = 0; p <= limit; p++) {
          const vb = kvOffset(s, p, kvh);
          for (let j = 0; j < d; j++) acc[j]! += logits[p]! * a.valueCache[vb + j]!;
        }
        for (let j = 0; j < d; j++) out[qBase + j] = acc[j]! / sum;
      }
    }
  }
  return out;
}
