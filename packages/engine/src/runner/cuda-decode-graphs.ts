import { CudaGraph, type CudaStream, type DeviceTensor, type LlamaForward, type LlamaStepShape } from '@vllm-ts/cuda';
import { decodeSeqLenBucket, isGraphableDecode, padDecodeStep, type CudaStep } from './cuda-step-builder.js';

/** Most decode graphs kept; further shapes run eagerly. */
const MAX_GRAPHS = 256;

/** Shape limits of {@link CudaDecodeGraphs}. */
export interface DecodeGraphLimits {
  /** Padded batch sizes graphs are captured for, ascending (empty: never capture). */
  readonly batchSizes: readonly number[];
  /** Block-table width of the forward pass. */
  readonly maxBlocksPerSeq: number;
  readonly blockSize: number;
}

/**
 * The forward passes of one {@link LlamaForward}: decode-only steps replayed from CUDA graphs keyed by
 * padded batch size and context bound (captured the first time a key runs, that step running
 * eagerly), everything else launched eagerly. Graphs read the forward pass's fixed input buffers, so
 * a replay sees whatever the last `prepare` staged.
 */
export class CudaDecodeGraphs {
  private readonly graphs = new Map<string, CudaGraph>();
  /** Whether the last {@link run} replayed a graph. */
  lastReplayed = false;

  /**
   * @param fwd the forward pass
   * @param stream the runner's stream
   * @param limits batch sizes and block-table shape
   */
  constructor(
    private readonly fwd: LlamaForward,
    private readonly stream: CudaStream,
    private readonly limits: DecodeGraphLimits,
  ) {}

  /** Graphs captured so far. */
  get size(): number {
    return this.graphs.size;
  }

  /**
   * vLLM's start-up capture: one eager dummy decode step at every graph batch size (each GEMM tunes
   * itself for that row count), then its graph for the smallest context bound. Dummy rows write no
   * KV (slot -1) and read one token of block 0.
   */
  warmUp(): void {
    const width = this.limits.maxBlocksPerSeq;
    const bound = decodeSeqLenBucket(1, width * this.limits.blockSize);
    const one: CudaStep = {
      step: {
        tokenIds: Int32Array.of(0), positions: Int32Array.of(0), slotMapping: Int32Array.of(-1), blockTables: new Int32Array(width),
        seqLens: Int32Array.of(1), queryStartLoc: Int32Array.of(0, 1), logitsIndices: Int32Array.of(0),
      },
      shape: { numTokens: 1, numSeqs: 1, numLogits: 1, maxQueryLen: 1, maxSeqLen: 1, isDecode: true },
    };
    for (const batch of this.limits.batchSizes) {
      const padded = padDecodeStep(one, batch, bound);
      const shape: LlamaStepShape = { ...this.fwd.prepare(padded.step, this.stream), maxSeqLen: bound };
      this.fwd.run(shape, this.stream);
      this.stream.synchronize();
      this.graphs.set(`${batch}:${bound}`, CudaGraph.capture(this.stream, () => this.fwd.run(shape, this.stream)));
    }
  }

  /**
   * Stages the step's inputs and runs it: eagerly, or by replaying (capturing on first sight) the
   * decode graph of its padded shape.
   * @param s the step
   * @param afterPrepare enqueues work between the input copy and the forward pass (the token gather)
   * @returns the logits of the step's sampled rows (a view of the forward pass's buffer)
   */
  run(s: CudaStep, afterPrepare: () => void): DeviceTensor {
    const fwd = this.fwd;
    const sizes = this.limits.batchSizes;
    this.lastReplayed = false;
    if (!isGraphableDecode(s, sizes.at(-1) ?? 0)) {
      const shape = fwd.prepare(s.step, this.stream);
      afterPrepare();
      return fwd.run(shape, this.stream);
    }
    const batch = sizes.find((b) => b >= s.shape.numSeqs)!;
    const bound = decodeSeqLenBucket(s.shape.maxSeqLen, this.limits.maxBlocksPerSeq * this.limits.blockSize);
    const padded = padDecodeStep(s, batch, bound);
    const shape: LlamaStepShape = { ...fwd.prepare(padded.step, this.stream), maxSeqLen: bound };
    afterPrepare();
    const key = `${batch}:${bound}`;
    const graph = this.graphs.get(key);
    if (graph) {
      this.lastReplayed = true;
      graph.replay(this.stream);
      return fwd.logitsView(shape.numLogits);
    }
    const logits = fwd.run(shape, this.stream);
    if (this.graphs.size < MAX_GRAPHS) {
      // Capture records without running: the eager run above already produced this step's logits.
      this.stream.synchronize();
      this.graphs.set(key, CudaGraph.capture(this.stream, () => fwd.run(shape, this.stream)));
    }
    return logits;
  }

  /** Destroys every graph (the forward pass stays). */
  destroy(): void {
    for (const g of this.graphs.values()) g.destroy();
    this.graphs.clear();
  }
}
