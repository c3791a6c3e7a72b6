import { describe, expect, it } from 'vitest';
import { EngineCoreOutputBatch, type EngineCoreOutput } from './engine-core-output.js';
import { requestId } from './ids.js';

const id = requestId;

function output(reqId: string, newTokenIds: number[], extra: Partial<EngineCoreOutput> = {}): EngineCoreOutput {
  return { reqId: id(reqId), newTokenIds, finishReason: null, stopReason: null, newLogprobs: null, newPromptLogprobs: null, numCachedTokens: 0, events: [], ...extra };
}

describe('EngineCoreOutputBatch', () => {
  it('stores rows as columns and gives them back as objects, extras only where set', () => {
    const b = new EngineCoreOutputBatch(1); // grows past its capacity
    b.appendOne(id('a'), 17, 0);
    const row = b.append(id('b'), [9, 5, 2, 8], 1, 2, 16);
    b.setExtras(row, 'stop', 2, null, null, [{ type: 'scheduled', timestamp: 1.5 }]);
    b.append(id('c'), [], 0, 0, 0);
    expect(b.length).toBe(3);
    expect(b.numTokens).toBe(3);
    expect(b.reqIds.slice(0, b.length)).toEqual(['a', 'b', 'c']);
    expect([...b.offsets.subarray(0, 4)]).toEqual([0, 1, 3, 3]);
    expect(b.extras.map((x) => x.row)).toEqual([1]);
    expect(b.toArray()).toEqual([
      output('a', [17]),
      output('b', [5, 2], { finishReason: 'stop', stopReason: 2, numCachedTokens: 16, events: [{ type: 'scheduled', timestamp: 1.5 }] }),
      output('c', []),
    ]);
    expect(b.at(1)).toEqual(b.toArray()[1]);
    expect(b.at(-1)?.reqId).toBe('c');
    expect(b.at(3)).toBeUndefined();
    expect(b.extrasOf(0)).toBeNull();
    expect(b.extrasOf(1)?.finishReason).toBe('stop');
  });

  it('round-trips object outputs, other batches and structured clones of its columns', () => {
    const outs = [
      output('x', [1, 2, 3], { newLogprobs: [] }),
      output('y', [4]),
      output('z', [], { finishReason: 'abort' }),
      output('w', [7], { numCachedTokens: 32, events: [{ type: 'preempted', timestamp: 2 }] }),
    ];
    const b = EngineCoreOutputBatch.from(outs);
    expect(b.toArray()).toEqual(outs);
    expect(b.extras.map((x) => x.row)).toEqual([0, 2, 3]);
    const cols = structuredClone(b.toColumns());
    expect(cols.length).toBe(4);
    expect(cols.reqIds.length).toBe(4);
    expect(cols.offsets.length).toBe(5);
    expect(cols.tokenIds.length).toBe(5);
    expect(EngineCoreOutputBatch.fromColumns(cols).toArray()).toEqual(outs);
    const merged = EngineCoreOutputBatch.from([output('p', [0], { finishReason: 'error' })]);
    merged.appendBatch(b);
    expect(merged.toArray()).toEqual([output('p', [0], { finishReason: 'error' }), ...outs]);
    const wrapped = EngineCoreOutputBatch.fromColumns(cols);
    wrapped.appendOne(id('v'), 11, 0); // appending past received columns reallocates them
    expect(wrapped.at(-1)).toEqual(output('v', [11]));
    expect(wrapped.length).toBe(5);
  });

  it('hands out full-capacity columns as they are, and their clones stay separate columns', () => {
    const b = new EngineCoreOutputBatch(3);
    b.appendOne(id('a'), 10, 0);
    b.appendOne(id('b'), 11, 16);
    b.appendOne(id('c'), 12, 32);
    const cols = b.toColumns();
    expect(cols.offsets).toBe(b.offsets); // no copy when the rows fill the reserved room
    const clone = structuredClone(cols);
    clone.offsets[1] = 99;
    expect([...clone.tokenIds]).toEqual([10, 11, 12]);
    expect([...clone.numCachedTokens]).toEqual([0, 16, 32]);
    expect(EngineCoreOutputBatch.fromColumns(structuredClone(cols)).toArray().map((o) => [o.reqId, o.newTokenIds, o.numCachedTokens])).toEqual([
      ['a', [10], 0],
      ['b', [11], 16],
      ['c', [12], 32],
    ]);
    b.appendOne(id('d'), 13, 0); // past the reserved room: the columns are reallocated apart
    expect(b.toArray().map((o) => o.newTokenIds[0])).toEqual([10, 11, 12, 13]);
    expect(b.numCachedTokens[2]).toBe(32);
  });

  it('refuses extras out of row order and columns that do not hold their rows', () => {
    const b = new EngineCoreOutputBatch();
    b.appendOne(id('a'), 1, 0);
    b.appendOne(id('b'), 2, 0);
    expect(() => b.setExtras(0, 'stop', null, null, null, [])).toThrow(/last row/);
    b.setExtras(1, 'length', null, null, null, []);
    expect(() => b.setExtras(1, 'stop', null, null, null, [])).toThrow(/set once/);
    expect(() =>
      EngineCoreOutputBatch.fromColumns({ length: 2, reqIds: [id('a'), id('b')], offsets: new Int32Array([0, 1]), tokenIds: new Int32Array(1), numCachedTokens: new Int32Array(2), extras: [] }),
    ).toThrow(/hold every row/);
  });
});
