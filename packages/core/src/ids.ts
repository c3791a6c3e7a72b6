/** A request's id: a string, branded so it is not mixed up with other strings. */
export type RequestId = string & { readonly __brand: 'RequestId' };

/** A KV-cache block's index in its pool, branded so it is not mixed up with token ids or counts. */
export type BlockId = number & { readonly __brand: 'BlockId' };

/** A block's content hash (chained over the prefix), branded; its encoding is the hasher's business. */
export type BlockHash = string & { readonly __brand: 'BlockHash' };

/**
 * Brands a string as a {@link RequestId}.
 * @param id any non-empty string
 */
export function requestId(id: string): RequestId {
  return id as RequestId;
}

/**
 * Brands a number as a {@link BlockId}.
 * @param id a non-negative integer block index
 */
export function blockId(id: number): BlockId {
  return id as BlockId;
}
