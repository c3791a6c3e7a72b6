import { blockId, VllmError } from '@vllm-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FreeBlockQueue } from './free-block-queue.js';

const b = blockId;

describe('FreeBlockQueue', () => {
  it('starts with every id in ascending order', () => {
    const q = new FreeBlockQueue(5);
    expect(q.toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(q.length).toBe(5);
    expect(new FreeBlockQueue(3, false).toArray()).toEqual([]);
  });

  it('pops from the head, appends at the tail, removes from the middle', () => {
    const q = new FreeBlockQueue(5);
    expect(q.popFront()).toBe(0);
    q.remove(b(2));
    expect(q.toArray()).toEqual([1, 3, 4]);
    q.append(b(2));
    q.append(b(0));
    expect(q.toArray()).toEqual([1, 3, 4, 2, 0]);
    const out: number[] = [];
    q.popFrontN(3, out as never);
    expect(out).toEqual([1, 3, 4]);
    expect(q.toArray()).toEqual([2, 0]);
    expect(q.peekFront()).toBe(2);
    expect(q.has(b(0))).toBe(true);
    expect(q.has(b(1))).toBe(false);
  });

  it('refuses misuse with typed errors naming the block', () => {
    const q = new FreeBlockQueue(2);
    expect(() => q.append(b(1))).toThrow(expect.objectContaining({ code: 'already_free', blockId: 1 }));
    q.remove(b(1));
    expect(() => q.remove(b(1))).toThrow(/block 1 is not in the free queue/);
    expect(() => q.append(b(7))).toThrow(expect.objectContaining({ code: 'unknown_block' }));
    q.popFront();
    let err: unknown;
    try {
      q.popFront();
    } catch (e) {
      err = e;
    }
    expect(VllmError.isInstance(err) && err.code).toBe('free_queue_empty');
    expect(() => q.popFrontN(1, [])).toThrow(/only 0 blocks queued/);
    expect(() => new FreeBlockQueue(-1)).toThrow(/capacity must be an integer >= 0/);
  });

  it('behaves like an array model under random operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('pop' as const), n: fc.nat(3) }),
      fc.record({ kind: fc.constant('append' as const), id: fc.nat(15) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.nat(15) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new FreeBlockQueue(16);
        let model = Array.from({ length: 16 }, (_, i) => i);
        for (const o of ops) {
          if (o.kind === 'pop') {
            const n = Math.min(o.n, model.length);
            const out: number[] = [];
            q.popFrontN(n, out as never);
            expect(out).toEqual(model.slice(0, n));
            model = model.slice(n);
          } else if (o.kind === 'append') {
            if (model.includes(o.id)) expect(() => q.append(b(o.id))).toThrow();
            else {
              q.append(b(o.id));
              model.push(o.id);
            }
          } else if (model.includes(o.id)) {
            q.remove(b(o.id));
            model = model.filter((x) => x !== o.id);
          } else expect(() => q.remove(b(o.id))).toThrow();
          expect(q.length).toBe(model.length);
        }
        expect(q.toArray()).toEqual(model);
      }),
    );
  });
});
