import { invariant, type KVCacheOps, type ModelRunnerOutput, type SchedulerOutput } from '@vllm-ts/core';
import {
  CudaStream,
  copyToHostAsync,
  deviceMemoryInfo,
  tokenGather,
  LlamaForward,
  type FloatDType,
  type LlamaConfig,
  type LlamaHostWeights,
} from '@vllm-ts/cuda';
import type { ModelConfig } from '../model/model-config.js';
import { RandomGenerator } from '../sample/random-generator.js';
import { buildForwardBatch, type PlannedRequest } from './forward-batch-builder.js';
import { HostSampler } from './host-sampler.js';
import { MAX_IN_FLIGHT_STEPS, type KVCacheInitOptions, type ModelRunner, type StepLimits } from './model-runner.js';
import { RequestStates, type RequestState } from './request-state.js';
import { RunnerOutputBuilder } from './runner-output-builder.js';
import { buildCudaStep, profileStep, decodeGraphBatchSizes } from './cuda-step-builder.js';
import { CudaDecodeGraphs } from './cuda-decode-graphs.js';
import { DeviceSampler, samplesOnDevice, type RowSampling } from './cuda-sampler.js';
import { applyCudaBlockMoves, sampleRowsOnHost } from './cuda-host-rows.js';
import { CudaStepSlots, recordStepEnd, resolveInFlightTokens, type DeviceRow, type InFlightStep } from './cuda-in-flight.js';
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
  private weights: LlamaHostWeights | { readonly dummy: number } | null;
  private forward: LlamaForward | null = null;
  private sampler: DeviceSampler | null = null;
  private limits: StepLimits | null = null;
  private graphs: CudaDecodeGraphs | null = null;
  private cpuCache: Float32Array[] | null = null;
  private readonly timer = new CudaStepTimer();
  /** Step timing runs in execute() only: overlapping steps would share the timer's events. */
  private timing = false;
  private slots: CudaStepSlots | null = null;
  /** Submitted steps not yet collected, oldest first. */
  private readonly inFlight: InFlightStep[] = [];
  /** Tokens being sampled on the device by an in-flight step, by request. */
  private readonly pending = new Map<RequestState, { step: InFlightStep; row: number }>();
  /** The step whose sampled ids the device buffer holds (a later launch overwrites them). */
  private lastDeviceStep: InFlightStep | null = null;
  private numSubmitted = 0;

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
    fwd.allocateKvCache(numSeqs * Math.ceil(seqLen / limits.blockSize) + 1);
    try {
      const step = profileStep(numSeqs, numTokens, seqLen, limits.blockSize, this.maxBlocksPerSeq(limits), this.sampler!.capacity);
      const shape = fwd.prepare(step, this.stream);
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
    this.graphs!.warmUp();
    const numCpuBlocks = opts.numCpuBlocks ?? 0;
    if (numCpuBlocks > 0) {
      const perBlock = opts.blockSize * this.llama.numKvHeads * this.llama.headDim;
      // Host copies hold float32 values; bf16/fp16 round-trip through float32 exactly.
      this.cpuCache = Array.from({ length: 2 * this.llama.numLayers }, () => new Float32Array(numCpuBlocks * perBlock));
    }
  }

  execute(so: SchedulerOutput): ModelRunnerOutput {
    invariant(this.inFlight.length === 0, 'execute() runs alone: collect the submitted steps first');
    this.timing = true;
    try {
      this.submit(so);
      return this.collect();
    } finally {
      this.timing = false;
    }
  }

  /**
   * Queues one step: applies its diffs, builds its inputs (a decode row whose previous token is
   * still being sampled takes it on the device from the last step's ids), launches the forward pass
   * and device sampling, and enqueues the copy of the sampled ids into this step's pinned slot.
   * A previous step with host-sampled rows is finished first (its rows read the logits this step
   * overwrites).
   * @param so what to compute
   */
  submit(so: SchedulerOutput): void {
    const fwd = this.forward;
    const limits = this.limits;
    invariant(fwd && limits && fwd.numBlocks > 0, 'initializeKVCache must be called before submit');
    invariant(this.inFlight.length < MAX_IN_FLIGHT_STEPS, () => `at most ${MAX_IN_FLIGHT_STEPS} steps may be in flight`);
    const last = this.inFlight.at(-1);
    if (last !== undefined && last.hostWork !== null) this.finish(last);
    if (this.timing) this.timer.beginCall();
    const { scheduled, forks } = this.states.applySchedulerOutput(so);
    this.applyBlockMoves(so.kvCacheOps);
    const slot = this.numSubmitted & 1;
    if (scheduled.length === 0) {
      invariant(forks.length === 0, 'forked requests need their parent scheduled in the same step');
      this.inFlight.push({ slot, event: null, deviceRows: [], hostWork: null, kind: 'mixed', numTokens: 0, output: new RunnerOutputBuilder().build() });
      this.numSubmitted++;
      return;
    }
    const tokens = resolveInFlightTokens(scheduled, this.pending, this.lastDeviceStep, (step) => this.finish(step));
    const cap = this.sampler!.capacity;
    let plan: ReturnType<typeof buildForwardBatch>;
    let onDevice: boolean[];
    try {
      plan = buildForwardBatch(scheduled, limits.blockSize, this.maxBlocksPerSeq(limits));
      // Rows the device samples; the host takes requests needing more, forks' parents and rows past the buffer.
      const forkParents = new Set(forks.map((f) => f.parent));
      onDevice = plan.requests.map((r) => samplesOnDevice(r) && !forkParents.has(r.state.reqId) && r.sampleRows[0]! < cap);
    } finally {
      // Placeholders only stand in while the batch is built: the real tokens come with collect().
      for (const st of tokens.placeholders) st.tokens.pop();
    }
    const cudaStep = buildCudaStep(plan, scheduled, cap);
    if (this.timing) this.timer.beforeLaunch(this.stream);
    const gather = (): void => {
      if (tokens.dstIdx.length === 0) return;
      const slots = this.slots!;
      tokenGather(
        {
          dst: fwd.tokenIdsView(),
          src: this.sampler!.ids,
          dstIdx: Int32Array.from(tokens.dstIdx),
          srcIdx: Int32Array.from(tokens.srcIdx),
          staging: slots.gatherStaging[slot]!,
          indices: slots.gatherIndices[slot]!,
        },
        { stream: this.stream },
      );
    };
    const logits = this.graphs!.run(cudaStep, gather);
    const rowParams: RowSampling[] = Array.from({ length: logits.shape[0]! }, () => null);
    const deviceRows: DeviceRow[] = [];
    const hostRequests: PlannedRequest[] = [];
    plan.requests.forEach((r, i) => {
      if (!onDevice[i]) {
        hostRequests.push(r);
        return;
      }
      rowParams[r.sampleRows[0]!] = { params: r.state.params, generator: r.state.generator ?? this.deviceGenerator };
      deviceRows.push({ state: r.state, row: r.sampleRows[0]! });
    });
    const ids = deviceRows.length > 0 ? this.sampler!.launch(logits, logits.shape[0]!, rowParams, this.stream) : null;
    const hostWork =
      hostRequests.length > 0 || forks.length > 0
        ? (out: RunnerOutputBuilder) => sampleRowsOnHost({ fwd, sampler: this.hostSampler, vocabSize: this.modelConfig.vocabSize, stream: this.stream }, plan.batch.logitsRows, logits, hostRequests, forks, out)
        : null;
    const event = recordStepEnd(ids, this.slots!, slot, this.stream, (dst, src, stream) => copyToHostAsync(dst, src, { stream }));
    if (this.timing) this.timer.afterLaunch(this.stream);
    const kind = !cudaStep.shape.isDecode ? 'mixed' : this.graphs!.lastReplayed ? 'decode-graph' : 'decode-eager';
    const step: InFlightStep = { slot, event, deviceRows, hostWork, kind, numTokens: cudaStep.shape.numTokens, output: null };
    for (const r of deviceRows) this.pending.set(r.state, { step, row: r.row });
    if (ids !== null) this.lastDeviceStep = step;
    this.inFlight.push(step);
    this.numSubmitted++;
  }

  /**
   * Waits for the oldest submitted step (its event, not the whole stream), appends its tokens to
   * the request states, samples its host rows and returns its output. The step leaves the queue
   * even when this throws.
   * @returns the step's sampled tokens, logprobs and prompt logprobs
   */
  collect(): ModelRunnerOutput {
    const step = this.inFlight[0];
    invariant(step, 'collect() needs a submitted step');
    try {
      this.finish(step);
    } finally {
      this.inFlight.shift();
      if (step.output === null) for (const r of step.deviceRows) this.dropPending(r.state, step);
      if (this.lastDeviceStep === step) this.lastDeviceStep = null;
    }
    if (this.timing && step.event !== null) this.timer.endCall(step.kind, step.numTokens);
    return step.output!;
  }

  /** Forgets `state`'s in-flight token unless a later step has one pending for it. */
  private dropPending(state: RequestState, step: InFlightStep): void {
    if (this.pending.get(state)?.step === step) this.pending.delete(state);
  }

  /** Brings a step's tokens to the host (finishing every older step first); idempotent. */
  private finish(step: InFlightStep): void {
    if (step.output !== null) return;
    for (const older of this.inFlight) {
      if (older === step) break;
      this.finish(older);
    }
    step.event?.synchronize();
    const out = new RunnerOutputBuilder();
    const ids = this.slots!.ids[step.slot]!;
    for (const { state, row } of step.deviceRows) {
      const token = ids[row]!;
      state.tokens.push(token);
      out.sampled(state.reqId, [token]);
      this.dropPending(state, step);
    }
    step.hostWork?.(out);
    step.output = out.build();
  }

  close(): void {
    this.inFlight.length = 0;
    this.pending.clear();
    this.lastDeviceStep = null;
    this.options.releaseWeights?.();
    const timing = this.timer.summary();
    if (timing !== null) process.stderr.write(`${timing}\n`);
    this.timer.destroy();
    this.graphs?.destroy();
    this.graphs = null;
    this.stream.synchronize();
    this.sampler?.free();
    this.slots?.free();
    this.slots = null;
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
    return this.graphs?.size ?? 0;
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
    this.slots = new CudaStepSlots(cap.maxNumLogits, cap.maxNumSeqs);
    this.limits = limits;
    this.graphs = new CudaDecodeGraphs(this.forward, this.stream, {
      batchSizes: this.options.enforceEager ? [] : decodeGraphBatchSizes(limits.maxNumSeqs),
      maxBlocksPerSeq: this.maxBlocksPerSeq(limits),
      blockSize: limits.blockSize,
    });
    return this.forward;
  }

  /** V0 block moves (see {@link applyCudaBlockMoves}). */
  private applyBlockMoves(ops: KVCacheOps): void {
    applyCudaBlockMoves(this.forward!, this.cpuCache, ops, this.stream);
  }
}
