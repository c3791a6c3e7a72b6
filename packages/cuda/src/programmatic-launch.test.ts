import { afterAll, describe, expect, it } from 'vitest';
import { programmaticDependentLaunch, setProgrammaticDependentLaunch } from './device.js';
import { LlamaForward } from './llama-forward.js';
import type { LlamaConfig, LlamaStep } from './llama-types.js';
import { CudaGraph, CudaStream } from './stream.js';
import { cudaAvailable, gpuSuite } from './testing/gpu.js';
import { Rng, relativeError } from './testing/random.js';

// Programmatic dependent launch changes only when kernels start, never what they compute: a whole
// forward step (norms, the fused gate/up + SiLU and qkv + RoPE + KV-write kernels, both decode attention
// kernels, prefill) must give bit-identical logits with it on and off, eager and replayed from graphs many
// times (a missing dependency wait shows as a result that moves between replays). The fused kernels are
// also checked against the separate ones through the whole model.
describe.skipIf(!cudaAvailable)(gpuSuite('programmatic dependent launch'), () => {
  const initial = cudaAvailable ? programmaticDependentLaunch().active : false;
  afterAll(() => {
    if (cudaAvailable) setProgrammaticDependentLaunch(initial);
  });

  it('is active on devices that support it unless turned off, and reports its state', () => {
    const { supported } = programmaticDependentLaunch();
    expect(setProgrammaticDependentLaunch(true)).toBe(supported);
    expect(programmaticDependentLaunch()).toEqual({ supported, active: supported });
    expect(setProgrammaticDependentLaunch(false)).toBe(false);
    expect(programmaticDependentLaunch().active).toBe(false);
  });

  const config: LlamaConfig = {
    hiddenSize: 256, intermediateSize: 688, numLayers: 3, numHeads: 8, numKvHeads: 2, headDim: 32, vocabSize: 1000,
    rmsNormEps: 1e-5, ropeTheta: 10000, maxPosition: 2048,
  };
  const blockSize = 16;
  const maxBlocksPerSeq = 40;
  const maxSeqs = 8;

  /** A step of `batch` sequences with `ctx` cached tokens each (decode), or one prefill chunk of `batch` tokens. */
  function makeStep(rng: Rng, batch: number, ctx: number, prefill: boolean): LlamaStep {
    const table = rng.permutation(maxSeqs * maxBlocksPerSeq).subarray(0, (prefill ? 1 : batch) * maxBlocksPerSeq);
    const slot = (s: number, pos: number) => table[s * maxBlocksPerSeq + Math.floor(pos / blockSize)]! * blockSize + (pos % blockSize);
    const tokenIds = Int32Array.from({ length: batch }, () => rng.int(0, config.vocabSize));
    if (prefill) {
      return {
        tokenIds, positions: Int32Array.from(tokenIds, (_, i) => i), slotMapping: Int32Array.from(tokenIds, (_, i) => slot(0, i)),
        blockTables: table, seqLens: Int32Array.of(batch), queryStartLoc: Int32Array.of(0, batch),
        logitsIndices: Int32Array.of(batch - 1),
      };
    }
    return {
      tokenIds, positions: Int32Array.from(tokenIds, () => ctx), slotMapping: Int32Array.from(tokenIds, (_, s) => slot(s, ctx)),
      blockTables: table, seqLens: Int32Array.from(tokenIds, () => ctx + 1), queryStartLoc: Int32Array.from({ length: batch + 1 }, (_, i) => i),
      logitsIndices: Int32Array.from(tokenIds, (_, i) => i),
    };
  }

  // Batch 1 and 3: the one-launch decode attention (<= 8 sequence x kv-head pairs); 6: the two-pass pair;
  // 9 tokens of prefill: cuBLASLt and the unfused gate/up path between programmatic launches.
  for (const [batch, prefill] of [[1, false], [3, false], [6, false], [9, true]] as const) {
    it(`${prefill ? `a prefill of ${batch} tokens` : `a decode step of batch ${batch}`}: identical logits with it on and off, eager and from graphs`, () => {
      const rng = new Rng();
      const options = { dtype: 'bfloat16', maxNumTokens: 16, maxNumSeqs: maxSeqs, numBlocks: maxSeqs * maxBlocksPerSeq, blockSize, maxBlocksPerSeq } as const;
      const fwd = LlamaForward.create(config, { dummy: rng.seed }, options);
      const stream = CudaStream.create();
      try {
        // Context written once (a prefill of the first sequence's blocks would be slower to set up): the
        // cache starts zeroed, so every step reads the same values whichever order the runs take.
        const step = makeStep(rng, batch, 300 + rng.int(0, 200), prefill);
        const shape = fwd.prepare(step, stream);
        const results: { label: string; logits: Float32Array }[] = [];
        for (const on of [true, false]) {
          setProgrammaticDependentLaunch(on);
          results.push({ label: `eager, on=${on}`, logits: fwd.run(shape, stream).toHost(stream) as Float32Array });
          const graph = CudaGraph.capture(stream, () => fwd.run(shape, stream));
          try {
            for (let r = 0; r < 8; r++) {
              fwd.logitsView(shape.numLogits).poison(stream);
              graph.replay(stream);
              results.push({ label: `graph replay ${r}, on=${on}`, logits: fwd.logitsView(shape.numLogits).toHost(stream) as Float32Array });
            }
          } finally {
            graph.destroy();
          }
        }
        // The separate kernels (gemv or cuBLASLt for the projections, then SiLU-and-multiply and RoPE + KV
        // write): the same function, up to the GEMM's summation order.
        const unfused = LlamaForward.create(config, { dummy: rng.seed }, { ...options, fuseDecodeKernels: false });
        try {
          unfused.prepare(step, stream);
          const ref = unfused.run(shape, stream).toHost(stream) as Float32Array;
          expect(relativeError(results.at(-1)!.logits, ref), `seed ${rng.seed}: fused against separate kernels`).toBeLessThan(2e-2);
        } finally {
          stream.synchronize();
          unfused.free();
        }
        const want = results.at(-1)!.logits;
        expect(want.every(Number.isFinite), `seed ${rng.seed}: finite logits`).toBe(true);
        for (const { label, logits } of results) {
          expect(Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), `${label}, seed ${rng.seed}`).toBe(true);
        }
      } finally {
        stream.synchronize();
        fwd.free();
        stream.destroy();
      }
    });
  }
});
