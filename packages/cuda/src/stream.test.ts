import { afterEach, describe, expect, it } from 'vitest';
import { CudaError, CudaUnavailableError } from './errors.js';
import { DeviceTensor } from './device-tensor.js';
import { rmsNorm, siluAndMul } from './ops/layers.js';
import { rmsNormReference, siluAndMulReference } from './reference/layers.js';
import { CudaEvent, CudaGraph, CudaStream } from './stream.js';
import { TensorScope, cudaAvailable, gpuSuite } from './testing/gpu.js';
import { Rng, relativeError } from './testing/random.js';
import { cudaUnavailableReason } from './binding.js';

describe('availability', () => {
  it('explains itself: a reason exactly when CUDA is unavailable', () => {
    const reason = cudaUnavailableReason();
    if (cudaAvailable) expect(reason).toBeNull();
    else {
      expect(reason).toMatch(/\S/);
      expect(() => DeviceTensor.empty([1], 'float32')).toThrow(CudaUnavailableError);
    }
  });
});

describe.skipIf(!cudaAvailable)(gpuSuite('streams, events and graphs'), () => {
  const scope = new TensorScope();
  afterEach(() => scope.free());

  it('replays a captured graph on new input contents', async () => {
    const rng = new Rng();
    const [n, d] = [16, 512];
    const stream = CudaStream.create();
    const input = scope.from(rng.tensor(n * 2 * d, 'float32'), [n, 2 * d], 'float32');
    const mid = scope.poisoned([n, d], 'float32');
    const out = scope.poisoned([n, d], 'float32');
    const w = rng.tensor(d, 'float32');
    const weight = scope.from(w, [d], 'float32');
    const graph = CudaGraph.capture(stream, () => {
      siluAndMul(mid, input, { stream });
      rmsNorm(out, mid, weight, 1e-6, { stream });
    });
    for (let round = 0; round < 2; round++) {
      const x = rng.tensor(n * 2 * d, 'float32');
      input.copyFromHost(x);
      const start = CudaEvent.create({ timing: true });
      const end = CudaEvent.create({ timing: true });
      start.record(stream);
      graph.replay(stream);
      end.record(stream);
      await stream.synchronizeAsync();
      expect(end.elapsedMs(start)).toBeGreaterThanOrEqual(0);
      start.destroy();
      end.destroy();
      const ref = rmsNormReference(siluAndMulReference(x, d), w, 1e-6, 'float32');
      expect(relativeError(out.toHost(stream), ref), `seed ${rng.seed}`).toBeLessThan(1e-4);
    }
    graph.destroy();
    stream.destroy();
  });

  it('turns a failed CUDA call into a CudaError with the call and location', () => {
    let error: unknown;
    try {
      DeviceTensor.empty([2 ** 45], 'float32');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CudaError);
    expect((error as CudaError).statusName).toBe('cudaErrorMemoryAllocation');
    expect((error as CudaError).call).toMatch(/cudaMalloc/);
    expect((error as CudaError).location).toMatch(/runtime\.cc:\d+/);
  });
});
