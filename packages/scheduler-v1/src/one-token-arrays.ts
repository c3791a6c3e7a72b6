// Past this id a one-token array is built per use (a sparse table that large would be a dictionary).
const MAX_TABLE_ID = 1 << 21;

/**
 * Frozen one-element token arrays, one per token id, shared by every output whose step added that
 * single token (a decode step's usual `newTokenIds`). Outputs are read-only by contract, so sharing
 * is invisible to consumers; it saves an array allocation per request per step. Holds at most one
 * array per distinct token id seen (bounded by the vocabulary).
 * @internal
 */
export class OneTokenArrays {
  private readonly byId: (readonly number[] | undefined)[] = [];

  /**
   * The shared `[tokenId]`.
   * @param tokenId a token id
   */
  get(tokenId: number): readonly number[] {
    if (tokenId < 0 || tokenId >= MAX_TABLE_ID) return [tokenId];
    let a = this.byId[tokenId];
    if (a === undefined) {
      a = Object.freeze([tokenId]);
      this.byId[tokenId] = a;
    }
    return a;
  }
}
