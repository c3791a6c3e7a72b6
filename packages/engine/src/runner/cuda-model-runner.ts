import { invariant, type KVCacheOps, type ModelRunnerOutput, type SchedulerOutput } from '@vllm-ts/core';
import {
  CudaGraph,
  CudaStream,
  deviceMemoryInfo,
  LlamaForward,
  type DeviceTensor,
  type FloatDType,
  type LlamaConfig,
  type LlamaHostWeights,
  type LlamaStepShape,
} from '@vllm-ts/cuda';
import type { ModelConfig } from '../model/model-config.js';
import { RandomGenerator } from '../sample/random-generator.js';
import { buildForwardBatch, type PlannedRequest } from './forward-batch-builder.js';
import { HostSampler } from './host-sampler.js';
import type { KVCacheInitOptions, ModelRunner, StepLimits } from './model-runner.js';
import { RequestStates } from './request-state.js';
import { RunnerOutputBuilder } from './runner-output-builder.js';
import { buildCudaStep, decodeGraphBatchSizes, decodeSeqLenBucket, isGraphableDecode, padDecodeStep, type CudaStep } from './cuda-step-builder.js';
import { DeviceSampler, samplesOnDevice } from './cuda-sampler.js';
import { CudaStepTimer } from './cuda-step-timer.js';

/** Options of {@link CudaModelRunner}. */
export interface CudaModelRunnerOptions {
  /** Weights and activations dtype on the device. */
  readonly dtype: FloatDType;
  /** Seed of the engine's generator, used by unseeded requests. */
  readonly seed?: number;
  /** Never capture CUDA graphs (every step launches its kernels). */
  readonly enforceEager?: boolean;
  /** Called once the weights are on the device (or the runner closes first): e.g. closes a streaming checkpoint. */
  readonly releaseWeights?: () => void;
}

/** Most decode graphs kept; further shapes run eagerly. */
const MAX_GRAPHS = 256;
/** Device memory kept out of the KV cache for graphs, cuBLASLt and the CUDA context's growth. */
const KV_RESERVE_BYTES = 512 * 2 ** 20;

/**
 * The CUDA model runner: weights and the paged KV cache on the GPU, one forward pass per step over
 * every scheduled token ({@link LlamaForward}), the LM head only on sampled rows, sampling on the
 * device (plain sampling and greedy) or on the host (logprobs, penalties, drafts), and decode-only
 * steps replayed from CUDA graphs captured per padded batch size and context bucket.
 */
export class CudaModelRunner implements ModelRunner {
  private readonly llama: LlamaConfig;
  private readonly states = new RequestStates();
  private readonly hostSampler: HostSampler;
  private readonly deviceGenerator: RandomGenerator;
  private readonly stream = CudaStream.create();
  private readonly graphs = new Map<string, CudaGraph>();
  private weights: LlamaHostWeights | { readonly dummy: number } | null;
  private forward: LlamaForward | null = null;
  private sampler: DeviceSampler | null = null;
  private limits: StepLimits | null = null;
  private graphSizes: number[] = [];
  private cpuCache: Float32Array[] | null = null;
  private readonly timer = new CudaStepTimer();
  private lastStepGraphed = false;

  /**
   * @param modelConfig the model's shape
   * @param llama its CUDA view (`toLlamaConfig`)
   * @param weights host weights (`toLlamaHostWeights`), or `{ dummy: seed }` for random weights made on the device
   * @param options dtype, seed, eager mode
   */
  constructor(
    readonly modelConfig: ModelConfig,
    llama: LlamaConfig,
    weights: LlamaHostWeights | { readonly dummy: number },
    private readonly options: CudaModelRunnerOptions,
  ) {
    this.llama = llama;
    this.weights = weights;
    this.hostSampler = new HostSampler(modelConfig.vocabSize, modelConfig.eosTokenIds, options.seed ?? 0);
    this.deviceGenerator = new RandomGenerator((options.seed ?? 0) ^ 0x5eed);
  }

  kvCacheBytesPerBlock(blockSize: number): number {
    return LlamaForward.kvCacheBytesPerBlock(this.llama, blockSize, this.options.dtype);
  }

  /**
   * Uploads the weights and allocates the step buffers for `limits`, runs one dummy step of
   * `maxNumBatchedTokens` tokens against a scratch cache (cuBLASLt picks its algorithms and
   * workspaces), and returns the bytes left for the KV cache: `total * gpuMemoryUtilization`
   * minus everything in use on the device, minus a reserve for graphs.
   * @param limits step capacities
   * @param gpuMemoryUtilization fraction of device memory the engine may use
   * @returns bytes available for KV blocks (0 or less: none)
   */
  determineAvailableKvCacheBytes(limits: StepLimits, gpuMemoryUtilization: number): number {
    const fwd = this.ensureForward(limits);
    const L = this.maxBlocksPerSeq(limits) * limits.blockSize;
    const T = Math.max(1, limits.maxNumBatchedTokens);
    const seqLen = Math.min(T, L);
    const numSeqs = Math.min(Math.ceil(T / seqLen), this.forwardCapacity(limits).maxNumSeqs);
    const numTokens = Math.min(T, numSeqs * seqLen);
    const blocksPerSeq = Math.ceil(seqLen / limits.blockSize);
    fwd.allocateKvCache(numSeqs * blocksPerSeq + 1);
    try {
      const width = this.maxBlocksPerSeq(limits);
      const blockTables = new Int32Array(numSeqs * width);
      const tokenIds = new Int32Array(numTokens);
      const positions = new Int32Array(numTokens);
      const slotMapping = new Int32Array(numTokens);
      const seqLens = new Int32Array(numSeqs);
      const queryStartLoc = new Int32Array(numSeqs + 1);
      for (let s = 0, t = 0; s < numSeqs; s++) {
        const len = Math.min(seqLen, numTokens - t);
        for (let b = 0; b < blocksPerSeq; b++) blockTables[s * width + b] = 1 + s * blocksPerSeq + b;
        for (let p = 0; p < len; p++, t++) {
          positions[t] = p;
          slotMapping[t] = blockTables[s * width + Math.floor(p / limits.blockSize)]! * limits.blockSize + (p % limits.blockSize);
        }
        seqLens[s] = len;
        queryStartLoc[s + 1] = t;
      }
      const logitsIndices = Int32Array.from({ length: Math.min(numSeqs, this.sampler!.capacity) }, (_, s) => queryStartLoc[s + 1]! - 1);
      const shape = fwd.prepare({ tokenIds, positions, slotMapping, blockTables, seqLens, queryStartLoc, logitsIndices }, this.stream);
      const logits = fwd.run(shape, this.stream);
      this.sampler!.sample(logits, shape.numLogits, [], this.stream);
      this.stream.synchronize();
    } finally {
      fwd.freeKvCache();
    }
    const { free, total } = deviceMemoryInfo();
    return Math.floor(total * gpuMemoryUtilization - (total - free) - KV_RESERVE_BYTES);
  }

  initializeKVCache(opts: KVCacheInitOptions): void {
    const limits = opts.limits ?? { maxNumBatchedTokens: 2048, maxNumSeqs: 256, numSpeculativeTokens: 0, blockSize: opts.blockSize };
    invariant(limits.blockSize === opts.blockSize, 'the KV block size matches the step limits');
    const fwd = this.ensureForward(limits);
    fwd.allocateKvCache(opts.numBlocks);
    this.warmUp(fwd);
    const numCpuBlocks = opts.numCpuBlocks ?? 0;
    if (numCpuBlocks > 0) {
      const perBlock = opts.blockSize * this.llama.numKvHeads * this.llama.headDim;
      // Host copies hold float32 values; bf16/fp16 round-trip through float32 exactly.
      this.cpuCache = Array.from({ length: 2 * this.llama.numLayers }, () => new Float32Array(numCpuBlocks * perBlock));
    }
  }

  execute(so: SchedulerOutput): ModelRunnerOutput {
    this.timer.beginCall();
    const fwd = this.forward;
    const limits = this.limits;
    invariant(fwd && limits && fwd.numBlocks > 0, 'initializeKVCache must be called before execute');
    const { scheduled, forks } = this.states.applySchedulerOutput(so);
    this.applyBlockMoves(so.kvCacheOps);
    const out = new RunnerOutputBuilder();
    if (scheduled.length === 0) {
      invariant(forks.length === 0, 'forked requests need their parent scheduled in the same step');
      return out.build();
    }
    const plan = buildForwardBatch(scheduled, limits.blockSize, this.maxBlocksPerSeq(limits));
    const cap = this.sampler!.capacity;
    const cudaStep = buildCudaStep(plan, scheduled, cap);
    this.timer.beforeLaunch(this.stream);
    const logits = this.runForward(fwd, cudaStep);

    // Rows the device samples; the host takes requests needing more, forks' parents and rows past the buffer.
    const forkParents = new Set(forks.map((f) => f.parent));
    const onDevice = plan.requests.map((r) => samplesOnDevice(r) && !forkParents.has(r.state.reqId) && r.sampleRows[0]! < cap);
    const rowParams: ({ params: PlannedRequest['state']['params']; generator: RandomGenerator } | null)[] = Array.from({ length: logits.shape[0]! }, () => null);
    let anyDevice = false;
    plan.requests.forEach((r, i) => {
      if (!onDevice[i]) return;
      anyDevice = true;
      rowParams[r.sampleRows[0]!] = { params: r.state.params, generator: r.state.generator ?? this.deviceGenerator };
    });
    const ids = anyDevice ? this.sampler!.sample(logits, logits.shape[0]!, rowParams, this.stream) : null;
    const hostRequests: PlannedRequest[] = [];
    plan.requests.forEach((r, i) => {
      if (!onDevice[i]) {
        hostRequests.push(r);
      } else {
        const token = ids![r.sampleRows[0]!]!;
        r.state.tokens.push(token);
        out.sampled(r.state.reqId, [token]);
      }
    });
    if (hostRequests.length > 0 || forks.length > 0) this.sampleOnHost(fwd, plan.batch.logitsRows, logits, hostRequests, forks, out);
    this.timer.afterLaunch(this.stream);
    // The next step overwrites the input buffers: this one must be done with them.
    this.stream.synchronize();
    this.timer.endCall(!cudaStep.shape.isDecode ? 'mixed' : this.lastStepGraphed ? 'decode-graph' : 'decode-eager', cudaStep.shape.numTokens);
    return out.build();
  }

  close(): void {
    this.options.releaseWeights?.();
    const timing = this.timer.summary();
    if (timing !== null) process.stderr.write(`${timing}\n`);
    this.timer.destroy();
    for (const g of this.graphs.values()) g.destroy();
    this.graphs.clear();
    this.stream.synchronize();
    this.sampler?.free();
    this.forward?.free();
    this.sampler = null;
    this.forward = null;
    this.cpuCache = null;
  }

  /** Number of requests whose state the runner holds (finished ones are dropped). */
  get numRequests(): number {
    return this.states.size;
  }

  /** Decode graphs captured so far. */
  get numCapturedGraphs(): number {
    return this.graphs.size;
  }

  private maxBlocksPerSeq(limits: StepLimits): number {
    return Math.ceil(this.modelConfig.maxModelLen / limits.blockSize);
  }

  private forwardCapacity(limits: StepLimits): { maxNumSeqs: number; maxNumTokens: number; maxNumLogits: number } {
    const maxGraph = this.options.enforceEager ? 0 : decodeGraphBatchSizes(limits.maxNumSeqs).at(-1)!;
    const maxNumSeqs = Math.max(limits.maxNumSeqs, maxGraph);
    return {
      maxNumSeqs,
      maxNumTokens: Math.max(limits.maxNumBatchedTokens, maxNumSeqs),
      maxNumLogits: Math.max(maxNumSeqs, limits.maxNumSeqs * (1 + limits.numSpeculativeTokens)),
    };
  }

  private ensureForward(limits: StepLimits): LlamaForward {
    if (this.forward) return this.forward;
    invariant(this.weights, 'weights are uploaded once');
    const cap = this.forwardCapacity(limits);
    try {
      this.forward = LlamaForward.create(this.llama, this.weights, {
        dtype: this.options.dtype,
        maxNumTokens: cap.maxNumTokens,
        maxNumSeqs: cap.maxNumSeqs,
        maxNumLogits: cap.maxNumLogits,
        blockSize: limits.blockSize,
        maxBlocksPerSeq: this.maxBlocksPerSeq(limits),
      });
    } finally {
      // The host copies are no longer needed: let them be collected.
      this.weights = null;
      this.options.releaseWeights?.();
    }
    this.sampler = new DeviceSampler(cap.maxNumLogits);
    this.limits = limits;
    this.graphSizes = this.options.enforceEager ? [] : decodeGraphBatchSizes(limits.maxNumSeqs);
    return this.forward;
  }

  /**
   * vLLM's start-up capture: one eager dummy decode step at every graph batch size (each GEMM tunes
   * itself for that row count), then its graph for the smallest context bound. Dummy rows write no
   * KV (slot -1) and read one token of block 0.
   */
  private warmUp(fwd: LlamaForward): void {
    if (this.graphSizes.length === 0) return;
    const width = this.maxBlocksPerSeq(this.limits!);
    const bound = decodeSeqLenBucket(1, width * this.limits!.blockSize);
    const one: CudaStep = {
      step: {
        tokenIds: Int32Array.of(0), positions: Int32Array.of(0), slotMapping: Int32Array.of(-1), blockTables: new Int32Array(width),
        seqLens: Int32Array.of(1), queryStartLoc: Int32Array.of(0, 1), logitsIndices: Int32Array.of(0),
      },
      shape: { numTokens: 1, numSeqs: 1, numLogits: 1, maxQueryLen: 1, maxSeqLen: 1, isDecode: true },
    };
    for (const batch of this.graphSizes) {
      const padded = padDecodeStep(one, batch, bound);
      const shape: LlamaStepShape = { ...fwd.prepare(padded.step, this.stream), maxSeqLen: bound };
      fwd.run(shape, this.stream);
      this.stream.synchronize();
      this.graphs.set(`${batch}:${bound}`, CudaGraph.capture(this.stream, () => fwd.run(shape, this.stream)));
    }
  }

  /** Runs the step eagerly, or replays (capturing on first sight) the decode graph of its padded shape. */
  private runForward(fwd: LlamaForward, s: CudaStep): DeviceTensor {
    const maxGraph = this.graphSizes.at(-1) ?? 0;
    this.lastStepGraphed = false;
    if (!isGraphableDecode(s, maxGraph)) {
      const shape = fwd.prepare(s.step, this.stream);
      return fwd.run(shape, this.stream);
    }
    const batch = this.graphSizes.find((b) => b >= s.shape.numSeqs)!;
    const bound = decodeSeqLenBucket(s.shape.maxSeqLen, this.maxBlocksPerSeq(this.limits!) * this.limits!.blockSize);
    const padded = padDecodeStep(s, batch, bound);
    const shape: LlamaStepShape = { ...fwd.prepare(padded.step, this.stream), maxSeqLen: bound };
    const key = `${batch}:${bound}`;
    const graph = this.graphs.get(key);
    if (graph) {
      this.lastStepGraphed = true;
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

  /** Copies the rows the host requests need (computing rows past the logits buffer) and samples them. */
  private sampleOnHost(
    fwd: LlamaForward,
    logitsRows: Int32Array,
    logits: DeviceTensor,
    requests: PlannedRequest[],
    forks: Parameters<HostSampler['sampleAll']>[1],
    out: RunnerOutputBuilder,
  ): void {
    const V = this.modelConfig.vocabSize;
    const cap = logits.shape[0]!;
    const wanted: number[] = [];
    for (const r of requests) for (const row of [...r.promptRows, ...r.sampleRows]) wanted.push(row);
    const compact = new Float32Array(wanted.length * V);
    const index = new Map<number, number>();
    const inBuffer = wanted.filter((row) => row < cap);
    const beyond = wanted.filter((row) => row >= cap);
    for (const row of inBuffer) {
      index.set(row, index.size);
      compact.set(logits.rows(row, 1).toHost(this.stream) as Float32Array, (index.size - 1) * V);
    }
    for (let i = 0; i < beyond.length; i += cap) {
      const chunk = beyond.slice(i, i + cap);
      const extra = fwd.logitsForRows(Int32Array.from(chunk, (row) => logitsRows[row]!), this.stream);
      const host = extra.toHost(this.stream) as Float32Array;
      chunk.forEach((row, j) => {
        index.set(row, index.size);
        compact.set(host.subarray(j * V, (j + 1) * V), (index.size - 1) * V);
      });
    }
    const remap = (rows: readonly number[]) => rows.map((row) => index.get(row)!);
    const remapped = requests.map((r) => ({ ...r, promptRows: remap(r.promptRows), sampleRows: remap(r.sampleRows) }));
    this.hostSampler.sampleAll(remapped, forks, compact, out);
  }

  /** V0 block moves: swap in, swap out, then copy-on-write copies (vLLM's worker order). */
  private applyBlockMoves(ops: KVCacheOps): void {
    if (ops.swapIn.length === 0 && ops.swapOut.length === 0 && ops.copy.length === 0) return;
    invariant(ops.swapIn.length + ops.swapOut.length === 0 || this.cpuCache !== null, 'swaps need CPU blocks (swapSpace)');
    const caches = this.forward!.kvCaches().flat();
    this.stream.synchronize();
    const blockView = (t: DeviceTensor) => t.view([t.shape[0]!, t.numel / t.shape[0]!]);
    caches.forEach((cache, c) => {
      const dev = blockView(cache);
      const per = dev.shape[1]!;
      const host = this.cpuCache?.[c];
      for (const [from, to] of ops.swapIn) dev.rows(to, 1).copyFromHost(host!.subarray(from * per, (from + 1) * per));
      for (const [from, to] of ops.swapOut) host!.set(dev.rows(from, 1).toHost(this.stream), to * per);
      for (const [from, to] of ops.copy) dev.rows(to, 1).copyFrom(dev.rows(from, 1), this.stream);
    });
  }
}
