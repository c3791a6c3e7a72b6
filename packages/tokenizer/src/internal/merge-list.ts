/**
 * BPE merges as spans, so a loader can look tokens up without a string per merge: merge `r` has its left
 * token at `spans[4r]..spans[4r+1]` and its right token at `spans[4r+2]..spans[4r+3]` of `text`. A start
 * below 0 names `strings[-start - 1]` instead (a token that held JSON escapes, or merges given as strings).
 */
export interface MergeList {
  readonly count: number;
  readonly spans: Int32Array;
  readonly text: string;
  readonly strings: readonly string[];
}

/** Accumulates a {@link MergeList}, growing its span array by doubling. */
export class MergeListBuilder {
  private spans = new Int32Array(4096);
  private readonly strings: string[] = [];
  private halves = 0;

  /** @param text the text that spans point into */
  constructor(private readonly text: string) {}

  /** Number of merge halves added so far (twice the merges once both halves of each are in). */
  get length(): number {
    return this.halves;
  }

  /** Adds the next half as the span `start..end` of the text. */
  span(start: number, end: number): void {
    if (2 * this.halves + 2 > this.spans.length) {
      const grown = new Int32Array(this.spans.length * 2);
      grown.set(this.spans);
      this.spans = grown;
    }
    this.spans[2 * this.halves] = start;
    this.spans[2 * this.halves + 1] = end;
    this.halves++;
  }

  /** Adds the next half as a string of its own. */
  string(token: string): void {
    this.strings.push(token);
    this.span(-this.strings.length, 0);
  }

  /** @returns the merges added, which must be complete pairs */
  finish(): MergeList {
    return { count: this.halves >> 1, spans: this.spans, text: this.text, strings: this.strings };
  }
}

/**
 * @param list the merges
 * @param half index of a half: `2 * rank` for the left token, `2 * rank + 1` for the right one
 * @returns that token as a string
 */
export function mergeHalf(list: MergeList, half: number): string {
  const start = list.spans[2 * half]!;
  return start < 0 ? list.strings[-start - 1]! : list.text.slice(start, list.spans[2 * half + 1]);
}
