import { InvalidArgumentError, requestId } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NgramIndex } from './ngram-index.js';
import { NgramProposer, findNgramDraft } from './ngram-proposer.js';

/** The definition, O(n^2) per call: longest n first, earliest start first, occurrence followed by a token. */
function naiveDraft(seq: readonly number[], min: number, max: number, k: number, maxModelLen: number): number[] {
  const len = seq.length;
  const room = Math.min(k, maxModelLen - len);
  if (room <= 0) return [];
  for (let n = Math.min(max, len - 1); n >= min; n--) {
    for (let start = 0; start + n < len; start++) {
      let same = true;
      for (let j = 0; j < n && same; j++) same = seq[start + j] === seq[len - n + j];
      if (same) return seq.slice(start + n, Math.min(len, start + n + room));
    }
  }
  return [];
}

function viaIndex(seq: readonly number[], min: number, max: number, k: number, maxModelLen: number): number[] {
  const index = new NgramIndex(min, max);
  index.append(seq);
  return index.propose(k, maxModelLen);
}

describe('findNgramDraft and NgramIndex', () => {
  const cases: Array<[string, number[], number, number, number, number, number[]]> = [
    ['longest match wins over a later shorter one', [1, 2, 3, 9, 2, 3, 7, 1, 2, 3], 1, 3, 2, 100, [9, 2]],
    ['earliest occurrence among equal lengths', [4, 5, 1, 4, 5, 2, 4, 5], 2, 2, 3, 100, [1, 4, 5]],
    ['overlapping occurrence counts (run of one token)', [7, 7, 7, 7], 1, 3, 5, 100, [7]],
    ['overlap: ababa matches aba at 0', [1, 2, 1, 2, 1], 3, 3, 4, 100, [2, 1]],
    ['the suffix itself never matches', [1, 2, 3, 4], 1, 4, 3, 100, []],
    ['match shorter than promptLookupMin is ignored', [1, 2, 9, 2], 2, 4, 3, 100, []],
    ['draft stops at the end of the sequence', [3, 1, 2, 3], 1, 2, 5, 100, [1, 2, 3]],
    ['capped by maxModelLen - length', [1, 2, 3, 4, 5, 1, 2], 2, 2, 4, 9, [3, 4]],
    ['no room left at maxModelLen', [1, 2, 1, 2], 1, 2, 4, 4, []],
    ['max above length behaves as length - 1', [5, 6, 5], 1, 10, 2, 100, [6, 5]],
    ['empty and single-token sequences', [8], 1, 3, 2, 100, []],
    ['longest capped at promptLookupMax picks the earliest capped match', [1, 2, 3, 4, 0, 3, 4, 0, 2, 3, 4], 1, 2, 3, 100, [0, 3, 4]],
  ];
  it.each(cases)('%s', (_name, seq, min, max, k, maxLen, want) => {
    expect(findNgramDraft(seq, min, max, k, maxLen)).toEqual(want);
    expect(viaIndex(seq, min, max, k, maxLen)).toEqual(want);
    expect(naiveDraft(seq, min, max, k, maxLen)).toEqual(want);
  });

  it('agrees with the O(n^2) definition on random sequences (small alphabets force repeats)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((alphabet) => fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { maxLength: 80 })),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 20 }),
        (seq, min, extra, k, slack) => {
          const max = min + extra;
          const maxLen = seq.length + slack;
          const want = naiveDraft(seq, min, max, k, maxLen);
          expect(findNgramDraft(seq, min, max, k, maxLen)).toEqual(want);
          expect(viaIndex(seq, min, max, k, maxLen)).toEqual(want);
        },
      ),
      { numRuns: 2000, seed: 12 },
    );
  });

  it('an index fed token by token matches the definition after every append', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 5 }), { maxLength: 25 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (chunks, min, extra) => {
          const index = new NgramIndex(min, min + extra);
          const seq: number[] = [];
          for (const chunk of chunks) {
            index.append(chunk);
            seq.push(...chunk);
            expect(index.propose(4, 1000)).toEqual(naiveDraft(seq, min, min + extra, 4, 1000));
          }
          expect(index.numTokens).toBe(seq.length);
          expect(index.size).toBeLessThanOrEqual(1 + Math.max(0, seq.length - 1) * (min + extra));
        },
      ),
      { numRuns: 500, seed: 34 },
    );
  });

  it('reports the match length and follower position', () => {
    const index = new NgramIndex(1, 3);
    index.append([1, 2, 3, 9, 2, 3]);
    expect(index.match()).toEqual({ ngramLength: 2, followerStart: 3 });
    index.append([5]);
    expect(index.match()).toBeNull();
  });

  it('rejects bad bounds and token ids with typed errors naming the field', () => {
    expect(() => new NgramIndex(0, 3)).toThrow(/NgramIndex\.promptLookupMin must be an integer >= 1 \(got 0\)/);
    expect(() => new NgramIndex(3, 2)).toThrow(/promptLookupMax must be an integer >= promptLookupMin \(3\)/);
    const index = new NgramIndex(1, 2);
    expect(() => index.append([1, -1])).toThrow(InvalidArgumentError);
    expect(() => index.append([1.5])).toThrow(/tokenIds\[0\] must be an integer in \[0, 2147483648\)/);
    expect(index.numTokens).toBe(0);
  });
});

describe('NgramProposer', () => {
  const a = requestId('a');
  const b = requestId('b');
  const x = requestId('x');
  const options = { numSpeculativeTokens: 3, promptLookupMin: 2, promptLookupMax: 4, maxModelLen: 20 };

  it('proposes per request, leaves out requests without a match, follows appended tokens', () => {
    const p = new NgramProposer(options);
    p.addRequest(a, [5, 6, 7, 8, 9, 5, 6]);
    p.addRequest(b, [1, 2, 3, 4]);
    expect(p.propose([a, b])).toEqual(new Map([[a, [7, 8, 9]]]));
    p.appendTokens(a, [7, 8]);
    p.appendTokens(b, [1, 2]);
    expect(p.propose([a, b])).toEqual(new Map([[a, [9, 5, 6]], [b, [3, 4, 1]]]));
    p.removeRequest(a);
    p.removeRequest(a);
    expect(p.numRequests).toBe(1);
  });

  it('caps drafts at maxModelLen - numTokens', () => {
    const p = new NgramProposer({ ...options, maxModelLen: 9 });
    p.addRequest(a, [5, 6, 7, 8, 9, 5, 6]);
    expect(p.propose([a]).get(a)).toEqual([7, 8]);
    p.appendTokens(a, [7, 8]);
    expect(p.propose([a]).size).toBe(0);
  });

  it('throws typed errors on misuse', () => {
    expect(() => new NgramProposer({ ...options, numSpeculativeTokens: 0 })).toThrow(/NgramProposer\.numSpeculativeTokens must be an integer >= 1/);
    expect(() => new NgramProposer({ ...options, promptLookupMax: 1 })).toThrow(/NgramProposer\.promptLookupMax must be an integer >= 2/);
    const p = new NgramProposer(options);
    p.addRequest(a, [1]);
    expect(() => p.addRequest(a, [1])).toThrow(expect.objectContaining({ code: 'duplicate_request' }));
    expect(() => p.appendTokens(x, [1])).toThrow(expect.objectContaining({ code: 'unknown_request' }));
    expect(() => p.propose([x])).toThrow(expect.objectContaining({ code: 'unknown_request' }));
  });
});
