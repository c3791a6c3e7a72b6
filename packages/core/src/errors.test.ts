import { describe, expect, it } from 'vitest';
import { didYouMean } from './did-you-mean.js';
import { InternalError, VllmError, describeValue, invariant } from './errors.js';

describe('VllmError', () => {
  it('carries code and cause, and isInstance recognises copies by marker', () => {
    const cause = new Error('disk');
    const e = new VllmError('load_failed', 'could not read', { cause });
    expect(e.code).toBe('load_failed');
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('VllmError');
    expect(VllmError.isInstance(e)).toBe(true);
    expect(VllmError.isInstance(new Error('x'))).toBe(false);
    // An error made by another copy of the package carries the same global symbol.
    const foreign = Object.assign(new Error('x'), { [Symbol.for('vllm-ts.error')]: true });
    expect(VllmError.isInstance(foreign)).toBe(true);
  });

  it('invariant throws an InternalError worded as a bug', () => {
    expect(() => invariant(false, 'ref count went negative')).toThrow(InternalError);
    expect(() => invariant(false, () => 'lazy')).toThrow(/lazy \(this is a bug in vllm-ts/);
    expect(() => invariant(true, 'fine')).not.toThrow();
  });

  it('describeValue quotes and cuts', () => {
    expect(describeValue('a')).toBe('"a"');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
    expect(describeValue('x'.repeat(200))).toHaveLength(80);
  });
});

describe('didYouMean', () => {
  it('finds near misses and ignores far ones', () => {
    expect(didYouMean('blocksize', ['blockSize', 'maxNumSeqs'])).toBe('blockSize');
    expect(didYouMean('maxNumSeq', ['blockSize', 'maxNumSeqs'])).toBe('maxNumSeqs');
    expect(didYouMean('banana', ['blockSize', 'maxNumSeqs'])).toBeUndefined();
  });
});
