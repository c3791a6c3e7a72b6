import { afterEach, describe, expect, it } from 'vitest';
import { allocPinned, synchronizeDevice } from '../device.js';
import { CudaStream } from '../stream.js';
import { TensorScope, cudaAvailable, gpuSuite } from '../testing/gpu.js';
import { Rng } from '../testing/random.js';
import { copyFromHostAsync, copyToHostAsync, tokenGather, tokenGatherReference } from './token-gather.js';

describe('tokenGatherReference', () => {
  it('writes src[srcIdx[i]] at dstIdx[i] and leaves the rest', () => {
    const out = tokenGatherReference(Int32Array.of(0, 0, 0, 0), Int32Array.of(7, 8, 9), Int32Array.of(3, 1), Int32Array.of(0, 2));
    expect([...out]).toEqual([0, 9, 0, 7]);
  });
});

describe.skipIf(!cudaAvailable)(gpuSuite('tokenGather'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  it('gathers random indices on a stream, matching the reference', () => {
    const rng = new Rng();
    const stream = CudaStream.create();
    try {
      for (const [d, s, n] of [[1, 1, 1], [600, 300, 257], [4096, 512, 512]] as const) {
        const dstHost = Int32Array.from({ length: d }, () => rng.int(-1000, 1000));
        const srcHost = Int32Array.from({ length: s }, () => rng.int(0, 150_000));
        const dstIdx = rng.permutation(d).subarray(0, n);
        const srcIdx = Int32Array.from({ length: n }, () => rng.int(0, s));
        const dst = scope.from(dstHost, [d], 'int32');
        const src = scope.from(srcHost, [s], 'int32');
        const indices = scope.poisoned([2 * n], 'int32');
        // The poison fills run on the default stream, which a created (non-blocking) stream does not wait for.
        synchronizeDevice();
        tokenGather({ dst, src, dstIdx, srcIdx, staging: new Int32Array(allocPinned(8 * n)), indices }, { stream });
        stream.synchronize();
        expect([...dst.toHost()], `seed ${rng.seed}`).toEqual([...tokenGatherReference(dstHost, srcHost, dstIdx, srcIdx)]);
      }
    } finally {
      synchronizeDevice();
      stream.destroy();
    }
  });

  it('refuses out-of-range and repeated destinations before launching', () => {
    const dst = scope.poisoned([4], 'int32');
    const src = scope.poisoned([2], 'int32');
    const indices = scope.poisoned([8], 'int32');
    const staging = new Int32Array(8);
    expect(() => tokenGather({ dst, src, dstIdx: Int32Array.of(4), srcIdx: Int32Array.of(0), staging, indices })).toThrow(/dstIdx\[0\]/);
    expect(() => tokenGather({ dst, src, dstIdx: Int32Array.of(1, 1), srcIdx: Int32Array.of(0, 1), staging, indices })).toThrow(/dstIdx\[1\]/);
    expect(() => tokenGather({ dst, src, dstIdx: Int32Array.of(0), srcIdx: Int32Array.of(2), staging, indices })).toThrow(/srcIdx\[0\]/);
  });
});

describe.skipIf(!cudaAvailable)(gpuSuite('async 4-byte copies'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  it('round-trips int32 and float32 through pinned memory on a stream', () => {
    const rng = new Rng();
    const stream = CudaStream.create();
    try {
      const ints = new Int32Array(allocPinned(4 * 333));
      ints.set(Int32Array.from({ length: 333 }, () => rng.int(-1e6, 1e6)));
      const floats = new Float32Array(allocPinned(4 * 77));
      floats.set(Float32Array.from({ length: 77 }, () => rng.normal()));
      const di = scope.poisoned([333], 'int32');
      const df = scope.poisoned([77], 'float32');
      synchronizeDevice();
      copyFromHostAsync(di, ints, { stream });
      copyFromHostAsync(df, floats, { stream });
      const backI = new Int32Array(allocPinned(4 * 333));
      const backF = new Float32Array(allocPinned(4 * 77));
      copyToHostAsync(backI, di, { stream });
      copyToHostAsync(backF, df, { stream });
      stream.synchronize();
      expect([...backI], `seed ${rng.seed}`).toEqual([...ints]);
      expect([...backF]).toEqual([...floats]);
      expect(() => copyToHostAsync(new Float32Array(333), di, { stream })).toThrow(/dtype/);
      expect(() => copyFromHostAsync(di, new Int32Array(3), { stream })).toThrow(/src.length/);
    } finally {
      synchronizeDevice();
      stream.destroy();
    }
  });
});
