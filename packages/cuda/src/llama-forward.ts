import { InvalidArgumentError, invariant } from '@vllm-ts/core';
import { DeviceTensor } from './device-tensor.js';
import { dtypeSize, type FloatDType } from './dtype.js';
import type { HostData } from './device-tensor.js';
import { checkInt } from './internal/check.js';
import { decodeWorkspaceFloats, pagedAttentionDecode, pagedAttentionPrefill } from './ops/attention.js';
import { GEMV_MAX_ROWS, gemm, gemvSiluAndMul } from './ops/gemm.js';
import { gemvRotaryWithKvCache } from './ops/gemv-rope.js';
import { embedding, fusedAddRmsNorm, rmsNorm, siluAndMul } from './ops/layers.js';
import { rotaryEmbeddingWithKvCache } from './ops/rotary.js';
import { computeRopeCosSinCache } from './rope-cache.js';
import type { CudaStream } from './stream.js';
import { fillRandom } from './internal/fill-random.js';
import { concatRows, has, inputLayout, type InputLayout } from './internal/llama-host.js';
import type { LlamaConfig, LlamaForwardOptions, LlamaHostWeights, LlamaStep, LlamaStepShape } from './llama-types.js';
import { getBinding } from './binding.js';
import { allocPinned, programmaticDependentLaunch, setProgrammaticDependentLaunch } from './device.js';
import { streamHandle } from './stream.js';

interface LayerOnDevice {
  inputLayernorm: DeviceTensor;
  qkv: DeviceTensor;
  o: DeviceTensor;
  postAttentionLayernorm: DeviceTensor;
  gateUp: DeviceTensor;
  down: DeviceTensor;
  qNorm: DeviceTensor | null;
  kNorm: DeviceTensor | null;
  qkvBias: DeviceTensor | null;
  oBias: DeviceTensor | null;
  keyCache: DeviceTensor | null;
  valueCache: DeviceTensor | null;
}

/**
 * A Llama-family forward pass on the GPU composed from this package's kernels: weights and a paged
 * KV cache on the device, one call per scheduler step over all its tokens, logits only for the rows
 * that are sampled. Inputs are staged by {@link LlamaForward.prepare}; {@link LlamaForward.run}
 * only enqueues kernels, so a decode step can be captured in a {@link CudaGraph} and replayed.
 */
export class LlamaForward {
  readonly config: LlamaConfig;
  readonly options: LlamaForwardOptions;
  readonly #layers: LayerOnDevice[];
  readonly #embed: DeviceTensor;
  readonly #norm: DeviceTensor;
  readonly #lmHead: DeviceTensor;
  readonly #cosSin: DeviceTensor;
  readonly #buffers: Record<string, DeviceTensor>;
  readonly #owned: DeviceTensor[];
  #numBlocks = 0;

  /** Two pinned halves of `layout.total` int32, alternating per prepare() (async scheduling). */
  readonly #staging: Int32Array;
  #stagingHalf = 0;
  readonly #layout: InputLayout;

  private constructor(config: LlamaConfig, options: LlamaForwardOptions, owned: DeviceTensor[], parts: {
    layers: LayerOnDevice[]; embed: DeviceTensor; norm: DeviceTensor; lmHead: DeviceTensor; cosSin: DeviceTensor; buffers: Record<string, DeviceTensor>;
    staging: Int32Array; layout: InputLayout;
  }) {
    this.#staging = parts.staging;
    this.#layout = parts.layout;
    this.config = config;
    this.options = options;
    this.#owned = owned;
    this.#layers = parts.layers;
    this.#embed = parts.embed;
    this.#norm = parts.norm;
    this.#lmHead = parts.lmHead;
    this.#cosSin = parts.cosSin;
    this.#buffers = parts.buffers;
  }

  /**
   * Uploads weights (or fills them with seeded random values: `'dummy'`, for benchmarks) and
   * allocates the KV cache and the step buffers.
   * @param config model shape
   * @param weights host weights, or `{ dummy: seed }`
   * @param options dtype and capacities
   * @returns the forward pass
   * @throws {InvalidArgumentError} for inconsistent shapes
   * @throws {CudaError} when device memory runs out
   */
  static create(config: LlamaConfig, weights: LlamaHostWeights | { readonly dummy: number }, options: LlamaForwardOptions): LlamaForward {
    const S = 'LlamaForward.create';
    const c = config;
    for (const k of ['hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'maxPosition'] as const) checkInt(S, `config.${k}`, c[k], 1);
    for (const k of ['maxNumTokens', 'maxNumSeqs', 'blockSize', 'maxBlocksPerSeq'] as const) checkInt(S, `options.${k}`, options[k], 1);
    checkInt(S, 'options.numBlocks', options.numBlocks ?? 0, 0);
    const maxNumLogits = checkInt(S, 'options.maxNumLogits', options.maxNumLogits ?? options.maxNumSeqs, 1);
    const dt = options.dtype;
    const owned: DeviceTensor[] = [];
    const dummy = 'dummy' in weights ? weights.dummy : null;
    let seed = dummy ?? 0;
    const put = (data: (() => HostData) | null, shape: number[], scale = 0.02, offset = 0): DeviceTensor => {
      const t = data === null ? DeviceTensor.empty(shape, dt) : DeviceTensor.fromHost(data(), shape, dt);
      owned.push(t);
      if (data === null) fillRandom(t, seed++, scale, offset);
      return t;
    };
    const w = dummy === null ? (weights as LlamaHostWeights) : null;
    if (w && w.layers.length !== c.numLayers) {
      throw new InvalidArgumentError('invalid_weights', S, 'weights.layers.length', String(c.numLayers), w.layers.length);
    }
    const missing = w?.layers.findIndex((lw) => (c.qkvBias && !(has(lw, 'qBias') && has(lw, 'kBias') && has(lw, 'vBias'))) || (c.oBias && !has(lw, 'oBias'))) ?? -1;
    if (missing >= 0) {
      throw new InvalidArgumentError('invalid_weights', S, `weights.layers[${missing}]`, 'the biases the config declares (qkvBias, oBias)', 'a layer without them');
    }
    const [H, I, D, NH, NKV] = [c.hiddenSize, c.intermediateSize, c.headDim, c.numHeads, c.numKvHeads];
    const qkvRows = (NH + 2 * NKV) * D;
    try {
      const layers: LayerOnDevice[] = [];
      for (let l = 0; l < c.numLayers; l++) {
        const lw = w?.layers[l];
        layers.push({
          inputLayernorm: put(lw ? () => lw.inputLayernorm : null, [H], 0.05, 1),
          qkv: put(lw ? () => concatRows([lw.qProj, lw.kProj, lw.vProj]) : null, [qkvRows, H]),
          o: put(lw ? () => lw.oProj : null, [H, NH * D]),
          postAttentionLayernorm: put(lw ? () => lw.postAttentionLayernorm : null, [H], 0.05, 1),
          gateUp: put(lw ? () => concatRows([lw.gateProj, lw.upProj]) : null, [2 * I, H]),
          down: put(lw ? () => lw.downProj : null, [H, I]),
          qNorm: c.qkNorm ? put(lw && has(lw, 'qNorm') ? () => lw.qNorm! : null, [D], 0.05, 1) : null,
          kNorm: c.qkNorm ? put(lw && has(lw, 'kNorm') ? () => lw.kNorm! : null, [D], 0.05, 1) : null,
          qkvBias: c.qkvBias ? put(lw ? () => concatRows([lw.qBias!, lw.kBias!, lw.vBias!]) : null, [1, qkvRows]) : null,
          oBias: c.oBias ? put(lw ? () => lw.oBias! : null, [1, H]) : null,
          keyCache: null,
          valueCache: null,
        });
      }
      const embed = put(w ? () => w.embedTokens : null, [c.vocabSize, H], 1);
      const norm = put(w ? () => w.norm : null, [H], 0.05, 1);
      const lmHead = w && !has(w, 'lmHead') ? embed : put(w ? () => w.lmHead! : null, [c.vocabSize, H]);
      const cosSin = DeviceTensor.fromHost(
        computeRopeCosSinCache({ rotaryDim: D, maxPosition: c.maxPosition, base: c.ropeTheta, ...(c.ropeScaling ? { scaling: c.ropeScaling } : {}) }),
        [c.maxPosition, D],
        'float32',
      );
      owned.push(cosSin);
      const T = options.maxNumTokens;
      const Sq = options.maxNumSeqs;
      const maxSeqLen = options.maxBlocksPerSeq * options.blockSize;
      const buf = (shape: number[], dtype: 'int32' | 'float32' | FloatDType) => {
        const t = DeviceTensor.empty(shape, dtype);
        owned.push(t);
        return t;
      };
      // Every step input lives in one int32 buffer (fields at fixed offsets, so captured graphs keep
      // their addresses), filled from a pinned mirror by one asynchronous copy per step.
      const W = options.maxBlocksPerSeq;
      const layout = inputLayout(T, Sq, maxNumLogits, W);
      const inputs = buf([layout.total], 'int32');
      const field = (name: keyof typeof layout.offsets, n: number) => inputs.rows(layout.offsets[name], n);
      const buffers = {
        inputs,
        seqLens: field('seqLens', Sq), queryStartLoc: field('queryStartLoc', Sq + 1), logitsIndices: field('logitsIndices', maxNumLogits),
        tokenIds: field('tokenIds', T), positions: field('positions', T), slotMapping: field('slotMapping', T),
        blockTables: field('blockTables', Sq * W).view([Sq, W]), zeroIds: buf([T], 'int32'),
        x: buf([T, H], dt), residual: buf([T, H], dt), qkv: buf([T, qkvRows], dt), attn: buf([T, NH * D], dt),
        gateUp: buf([T, 2 * I], dt), act: buf([T, I], dt), sampled: buf([maxNumLogits, H], dt), logits: buf([maxNumLogits, c.vocabSize], 'float32'),
        workspace: buf([decodeWorkspaceFloats(Sq, NH, NKV, D, maxSeqLen)], 'float32'),
      };
      buffers.zeroIds.zero();
      const staging = new Int32Array(allocPinned(2 * layout.total * 4));
      const fwd = new LlamaForward(config, options, owned, { layers, embed, norm, lmHead, cosSin, buffers, staging, layout });
      if ((options.numBlocks ?? 0) > 0) fwd.allocateKvCache(options.numBlocks!);
      return fwd;
    } catch (error) {
      for (const t of owned) t.free();
      throw error;
    }
  }

  /**
   * Bytes one KV-cache block takes across all layers, keys and values.
   * @param config model shape
   * @param blockSize tokens per block
   * @param dtype cache dtype
   * @returns bytes per block
   */
  static kvCacheBytesPerBlock(config: LlamaConfig, blockSize: number, dtype: FloatDType): number {
    return 2 * config.numLayers * blockSize * config.numKvHeads * config.headDim * dtypeSize(dtype);
  }

  /** KV blocks allocated (0 before {@link LlamaForward.allocateKvCache}). */
  get numBlocks(): number {
    return this.#numBlocks;
  }

  /**
   * Allocates the paged KV cache: per layer, keys and values of `[numBlocks, blockSize, numKvHeads, headDim]`.
   * @param numBlocks blocks, at least 1
   * @throws {InvalidArgumentError} when a cache is already allocated or numBlocks is not a positive integer
   * @throws {CudaError} when device memory runs out (nothing stays allocated)
   */
  allocateKvCache(numBlocks: number): void {
    const S = 'LlamaForward.allocateKvCache';
    checkInt(S, 'numBlocks', numBlocks, 1);
    if (this.#numBlocks > 0) throw new InvalidArgumentError('invalid_state', S, 'KV cache', 'none allocated (call freeKvCache first)', `${this.#numBlocks} blocks`);
    const shape = [numBlocks, this.options.blockSize, this.config.numKvHeads, this.config.headDim];
    try {
      for (const layer of this.#layers) {
        layer.keyCache = DeviceTensor.empty(shape, this.options.dtype);
        layer.valueCache = DeviceTensor.empty(shape, this.options.dtype);
        // Never-written slots stay finite: attention over a padded graph row may read them.
        layer.keyCache.zero();
        layer.valueCache.zero();
      }
    } catch (error) {
      this.freeKvCache();
      throw error;
    }
    this.#numBlocks = numBlocks;
  }

  /** Frees the KV cache (synchronize first). Idempotent. */
  freeKvCache(): void {
    for (const layer of this.#layers) {
      layer.keyCache?.free();
      layer.valueCache?.free();
      layer.keyCache = null;
      layer.valueCache = null;
    }
    this.#numBlocks = 0;
  }

  /**
   * Per layer, the key and value caches (for block copies and swaps).
   * @returns `[key, value]` per layer
   * @throws {InvalidArgumentError} before {@link LlamaForward.allocateKvCache}
   */
  kvCaches(): readonly (readonly [DeviceTensor, DeviceTensor])[] {
    return this.#layers.map((l) => [this.#cache(l.keyCache), this.#cache(l.valueCache)] as const);
  }

  #cache(t: DeviceTensor | null): DeviceTensor {
    if (t === null) throw new InvalidArgumentError('invalid_state', 'LlamaForward', 'KV cache', 'allocated with allocateKvCache()', 'none');
    return t;
  }

  /**
   * Stages one step's inputs in pinned memory and enqueues their copy to the device (one copy) on
   * `stream`, or copies them synchronously without one, and describes the step. The pinned
   * staging alternates between two halves: a step may be prepared while the previous step's copy
   * is still pending on `stream`, but the step before that must have finished.
   * @param step flat inputs
   * @param stream stream the step's {@link LlamaForward.run} or graph replay will use
   * @returns the shape to pass to {@link LlamaForward.run}
   * @throws {InvalidArgumentError} when the step exceeds the capacities
   */
  prepare(step: LlamaStep, stream?: CudaStream): LlamaStepShape {
    const S = 'LlamaForward.prepare';
    const T = checkInt(S, 'tokenIds.length', step.tokenIds.length, 1, this.options.maxNumTokens);
    const numSeqs = checkInt(S, 'seqLens.length', step.seqLens.length, 1, this.options.maxNumSeqs);
    if (step.positions.length !== T || step.slotMapping.length !== T) {
      throw new InvalidArgumentError('invalid_step', S, 'positions/slotMapping.length', String(T), [step.positions.length, step.slotMapping.length]);
    }
    if (step.queryStartLoc.length !== numSeqs + 1 || step.queryStartLoc[numSeqs] !== T) {
      throw new InvalidArgumentError('invalid_step', S, 'queryStartLoc', `${numSeqs + 1} prefix sums ending at ${T}`, [...step.queryStartLoc]);
    }
    if (step.blockTables.length !== numSeqs * this.options.maxBlocksPerSeq) {
      throw new InvalidArgumentError('invalid_step', S, 'blockTables.length', String(numSeqs * this.options.maxBlocksPerSeq), step.blockTables.length);
    }
    const numLogits = checkInt(S, 'logitsIndices.length', step.logitsIndices.length, 0, this.options.maxNumLogits ?? this.options.maxNumSeqs);
    const { offsets } = this.#layout;
    const total = this.#layout.total;
    const h = this.#staging.subarray(this.#stagingHalf * total, (this.#stagingHalf + 1) * total);
    this.#stagingHalf ^= 1;
    h.set(step.seqLens, offsets.seqLens);
    h.set(step.queryStartLoc, offsets.queryStartLoc);
    h.set(step.logitsIndices, offsets.logitsIndices);
    h.set(step.tokenIds, offsets.tokenIds);
    h.set(step.positions, offsets.positions);
    h.set(step.slotMapping, offsets.slotMapping);
    h.set(step.blockTables, offsets.blockTables);
    const used = offsets.blockTables + step.blockTables.length;
    getBinding().copyHostToDevice(this.#buffers.inputs!.address, h, used * 4, streamHandle(stream), stream === undefined);
    let maxQueryLen = 0;
    for (let s = 0; s < numSeqs; s++) maxQueryLen = Math.max(maxQueryLen, step.queryStartLoc[s + 1]! - step.queryStartLoc[s]!);
    let maxSeqLen = 0;
    for (const n of step.seqLens) maxSeqLen = Math.max(maxSeqLen, n);
    return { numTokens: T, numSeqs, numLogits, maxQueryLen, maxSeqLen, isDecode: maxQueryLen === 1 && T === numSeqs };
  }

  /**
   * Enqueues the forward pass over the staged step; returns the float32 logits [numLogits, vocab]
   * (a view of an internal buffer, overwritten by the next run).
   * @param shape from {@link LlamaForward.prepare} (or a fixed shape when replaying a graph)
   * @param stream stream to enqueue on
   * @returns the logits view
   */
  run(shape: LlamaStepShape, stream?: CudaStream): DeviceTensor {
    // Programmatic dependent launch pays where a step is a chain of short kernels (up to 8 tokens; batch 1:
    // 4.365 against 4.476 ms) and cost at batch 32 (7.515 against 7.316 ms; H200, 2026-11-30): larger steps
    // launch without it.
    const without = shape.numTokens > GEMV_MAX_ROWS && programmaticDependentLaunch().active;
    if (without) setProgrammaticDependentLaunch(false);
    try {
      return this.#enqueue(shape, stream);
    } finally {
      if (without) setProgrammaticDependentLaunch(true);
    }
  }

  #enqueue(shape: LlamaStepShape, stream?: CudaStream): DeviceTensor {
    const c = this.config;
    const o = stream ? { stream } : {};
    const b = this.#buffers as Record<string, DeviceTensor>;
    const T = shape.numTokens;
    const [D, NH, NKV] = [c.headDim, c.numHeads, c.numKvHeads];
    const x = b.x!.rows(0, T);
    const residual = b.residual!.rows(0, T);
    const qkv = b.qkv!.rows(0, T);
    const attn = b.attn!.rows(0, T);
    const gateUp = b.gateUp!.rows(0, T);
    const act = b.act!.rows(0, T);
    const q = qkv.columns(0, NH * D);
    const k = qkv.columns(NH * D, NKV * D);
    const v = qkv.columns((NH + NKV) * D, NKV * D);
    const seqLens = b.seqLens!.rows(0, shape.numSeqs);
    const blockTables = b.blockTables!.rows(0, shape.numSeqs);
    const zeroIds = b.zeroIds!.rows(0, T);
    // Up to 8 tokens: the skinny GEMM kernel also applies SiLU-and-multiply (gate/up) and RoPE + the KV
    // write (qkv, without biases or q/k norms): two launches fewer per layer.
    const fused = (this.options.fuseDecodeKernels ?? true) && T <= GEMV_MAX_ROWS && this.options.dtype !== 'float32' && c.hiddenSize % 8 === 0;
    const fusedQkv = fused && !c.qkvBias && !c.qkNorm && D % 8 === 0;
    embedding(residual, b.tokenIds!.rows(0, T), this.#embed, o);
    this.#layers.forEach((layer, l) => {
      const keyCache = this.#cache(layer.keyCache);
      const valueCache = this.#cache(layer.valueCache);
      if (l === 0) rmsNorm(x, residual, layer.inputLayernorm, c.rmsNormEps, o);
      else fusedAddRmsNorm(x, residual, layer.inputLayernorm, c.rmsNormEps, o);
      // A bias is broadcast into the output rows (the embedding gather of row 0), then accumulated onto.
      if (layer.qkvBias) embedding(qkv, zeroIds, layer.qkvBias, o);
      const rope = { positions: b.positions!.rows(0, T), cosSinCache: this.#cosSin, numHeads: NH, numKvHeads: NKV, headDim: D, keyCache, valueCache, slotMapping: b.slotMapping!.rows(0, T) };
      if (fusedQkv) gemvRotaryWithKvCache({ out: qkv, a: x, weight: layer.qkv, ...rope }, o);
      else {
        gemm({ out: qkv, a: x, weight: layer.qkv, beta: layer.qkvBias ? 1 : 0 }, o);
        if (layer.qNorm && layer.kNorm) this.#headNorm(qkv, T, layer.qNorm, layer.kNorm, o);
        rotaryEmbeddingWithKvCache({ ...rope, query: q, key: k, value: v }, o);
      }
      const common = { out: attn, query: q, keyCache, valueCache, blockTables, seqLens, numHeads: NH, scale: 1 / Math.sqrt(D) };
      if (shape.isDecode) pagedAttentionDecode({ ...common, maxSeqLen: shape.maxSeqLen, workspace: b.workspace! }, o);
      else pagedAttentionPrefill({ ...common, queryStartLoc: b.queryStartLoc!.rows(0, shape.numSeqs + 1), maxQueryLen: shape.maxQueryLen }, o);
      if (layer.oBias) embedding(x, zeroIds, layer.oBias, o);
      gemm({ out: x, a: attn, weight: layer.o, beta: layer.oBias ? 1 : 0 }, o);
      fusedAddRmsNorm(x, residual, layer.postAttentionLayernorm, c.rmsNormEps, o);
      if (fused) gemvSiluAndMul({ out: act, a: x, weight: layer.gateUp }, o);
      else {
        gemm({ out: gateUp, a: x, weight: layer.gateUp }, o);
        siluAndMul(act, gateUp, o);
      }
      gemm({ out: x, a: act, weight: layer.down }, o);
    });
    fusedAddRmsNorm(x, residual, this.#norm, c.rmsNormEps, o);
    this.#lastNumTokens = T;
    return this.#logits(shape.numLogits, o);
  }

  #lastNumTokens = 0;

  #logits(n: number, o: { stream?: CudaStream }): DeviceTensor {
    const b = this.#buffers;
    invariant(n <= b.logits!.shape[0]!, 'numLogits fits the logits buffer');
    const logits = b.logits!.rows(0, n);
    if (n === 0) return logits;
    // The embedding kernel doubles as a row gather: the rows to sample, out of the T hidden states.
    const sampled = b.sampled!.rows(0, n);
    embedding(sampled, b.logitsIndices!.rows(0, n), b.x!.rows(0, this.#lastNumTokens), o);
    gemm({ out: logits, a: sampled, weight: this.#lmHead }, o);
    return logits;
  }

  /**
   * The device token-id input (int32 `[maxNumTokens]`) that {@link LlamaForward.prepare} fills and
   * {@link LlamaForward.run} (or a graph replay) reads: work enqueued between the two on the same
   * stream may overwrite entries (async scheduling writes tokens still being sampled there).
   * @returns the buffer's view
   */
  tokenIdsView(): DeviceTensor {
    return this.#buffers.tokenIds!;
  }

  /**
   * The logits buffer's first rows: what {@link LlamaForward.run} returned, also after a graph replay.
   * @param numLogits rows
   * @returns float32 view [numLogits, vocab]
   */
  logitsView(numLogits: number): DeviceTensor {
    return this.#buffers.logits!.rows(0, checkInt('LlamaForward.logitsView', 'numLogits', numLogits, 0, this.#buffers.logits!.shape[0]!));
  }

  /**
   * After {@link LlamaForward.run}, the logits of other rows of the same step (e.g. prompt
   * logprobs beyond the logits buffer): waits for `stream`, then enqueues the gather and LM head.
   * @param rows token indices of the last run, at most `maxNumLogits`
   * @param stream the stream the run was enqueued on
   * @returns float32 logits [rows.length, vocab] (a view of the buffer {@link LlamaForward.run} returns)
   * @throws {InvalidArgumentError} for rows outside the last run or too many
   */
  logitsForRows(rows: Int32Array, stream?: CudaStream): DeviceTensor {
    const S = 'LlamaForward.logitsForRows';
    const n = checkInt(S, 'rows.length', rows.length, 0, this.#buffers.logits!.shape[0]!);
    for (const r of rows) checkInt(S, 'rows[i]', r, 0, this.#lastNumTokens - 1);
    stream?.synchronize();
    if (n > 0) this.#buffers.logitsIndices!.rows(0, n).copyFromHost(rows);
    return this.#logits(n, stream ? { stream } : {});
  }

  /** Qwen3's per-head RMSNorm of q and k, in place: each token's heads are contiguous rows of headDim. */
  #headNorm(qkv: DeviceTensor, T: number, qNorm: DeviceTensor, kNorm: DeviceTensor, o: { stream?: CudaStream }): void {
    const c = this.config;
    const width = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
    const perToken = width / c.headDim;
    // View the whole qkv buffer as rows of headDim; q heads are rows [t*perToken, t*perToken + numHeads).
    const heads = qkv.view([T * perToken, c.headDim]);
    for (let t = 0; t < T; t++) {
      const qRows = heads.rows(t * perToken, c.numHeads);
      const kRows = heads.rows(t * perToken + c.numHeads, c.numKvHeads);
      rmsNorm(qRows, qRows, qNorm, c.rmsNormEps, o);
      rmsNorm(kRows, kRows, kNorm, c.rmsNormEps, o);
    }
  }

  /** Frees every device allocation (weights, KV cache, buffers). Synchronize first. */
  free(): void {
    this.freeKvCache();
    for (const t of this.#owned) t.free();
  }
}
