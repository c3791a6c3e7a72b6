import { GREEDY_TEMPERATURE_EPSILON, type SamplingParamsData } from '@vllm-ts/core';
import { allocPinned, argmax, copyFromHostAsync, DeviceTensor, sample, type CudaStream } from '@vllm-ts/cuda';
import type { RandomGenerator } from '../sample/random-generator.js';
import type { PlannedRequest } from './forward-batch-builder.js';

/**
 * True when a request's next token can be sampled on the device: plain temperature / top-k /
 * top-p / min-p sampling or greedy, with no logprobs, penalties, logit bias, allowed-token list,
 * drafts or min-tokens masking left. Everything else takes the host sampler (exact vLLM semantics on float32 rows).
 * @param r the request's row plan
 */
export function samplesOnDevice(r: PlannedRequest): boolean {
  return r.sampleRows.length === 1 && r.promptRows.length === 0 && r.drafts.length === 0 && paramsSampleOnDevice(r.state.params, r.state.tokens.length - r.state.numPromptTokens);
}

/**
 * The parameter half of {@link samplesOnDevice}: no logprobs, penalties, logit bias or allowed-token
 * list, and `minTokens` reached.
 * @param p the request's sampling parameters
 * @param numOutputTokens tokens the request generated before this sample
 */
export function paramsSampleOnDevice(p: SamplingParamsData, numOutputTokens: number): boolean {
  return (
    p.logprobs === null &&
    p.repetitionPenalty === 1 &&
    p.frequencyPenalty === 0 &&
    p.presencePenalty === 0 &&
    p.logitBias === null &&
    p.allowedTokenIds === null &&
    numOutputTokens >= p.minTokens
  );
}

/** Per-row sampling parameters staged on the host. */
interface HostParams {
  temperature: Float32Array;
  topK: Int32Array;
  topP: Float32Array;
  minP: Float32Array;
  uniform: Float32Array;
}

/** One row's sampling: its params and generator, or null for rows sampled elsewhere (or padding). */
export type RowSampling = { readonly params: SamplingParamsData; readonly generator: RandomGenerator } | null;

/** Per-row sampling parameters and outputs on the device, reused every step. */
export class DeviceSampler {
  readonly #capacity: number;
  readonly #ids: DeviceTensor;
  readonly #temperature: DeviceTensor;
  readonly #topK: DeviceTensor;
  readonly #topP: DeviceTensor;
  readonly #minP: DeviceTensor;
  readonly #uniform: DeviceTensor;
  /** Two pinned halves, alternating per launch: a launch may be staged while the previous one's copies are pending. */
  readonly #host: readonly [HostParams, HostParams];
  #half = 0;

  /** @param capacity most rows one call samples */
  constructor(capacity: number) {
    this.#capacity = capacity;
    const owned: DeviceTensor[] = [];
    const make = (dtype: 'int32' | 'float32') => {
      const t = DeviceTensor.empty([capacity], dtype);
      owned.push(t);
      return t;
    };
    try {
      this.#ids = make('int32');
      this.#temperature = make('float32');
      this.#topK = make('int32');
      this.#topP = make('float32');
      this.#minP = make('float32');
      this.#uniform = make('float32');
    } catch (error) {
      for (const t of owned) t.free();
      throw error;
    }
    const pinned = allocPinned(2 * 5 * capacity * 4);
    const half = (h: number): HostParams => {
      const at = (k: number) => (h * 5 + k) * capacity * 4;
      return {
        temperature: new Float32Array(pinned, at(0), capacity),
        topK: new Int32Array(pinned, at(1), capacity),
        topP: new Float32Array(pinned, at(2), capacity),
        minP: new Float32Array(pinned, at(3), capacity),
        uniform: new Float32Array(pinned, at(4), capacity),
      };
    };
    this.#host = [half(0), half(1)];
  }

  /**
   * Samples one token from each of the first `numRows` logits rows. Rows mapped to `null` (sampled
   * on the host, or padding) are decoded greedily and ignored. All-greedy batches take the
   * argmax kernel; otherwise one sampling kernel serves every row, each drawing one uniform from
   * its request's generator (seeded requests stay reproducible).
   * @param logits float32 `[>= numRows, vocab]`
   * @param numRows rows to sample
   * @param rowParams per row: params and generator, or null
   * @param stream the stream the logits were computed on
   * @returns the sampled ids, one per row
   */
  sample(logits: DeviceTensor, numRows: number, rowParams: readonly RowSampling[], stream: CudaStream): Int32Array {
    return this.launch(logits, numRows, rowParams, stream).toHost(stream) as Int32Array;
  }

  /**
   * {@link sample} without waiting: enqueues the sampling on `stream` and returns the device ids
   * (a view of {@link ids}, overwritten by the next launch). Parameters are staged in one of two
   * pinned halves and copied on `stream`, so a launch may follow the previous one before that has
   * run; the launch before the previous must have finished.
   * @param logits float32 `[>= numRows, vocab]`
   * @param numRows rows to sample
   * @param rowParams per row: params and generator, or null
   * @param stream the stream the logits were computed on
   * @returns int32 `[numRows]` on the device
   */
  launch(logits: DeviceTensor, numRows: number, rowParams: readonly RowSampling[], stream: CudaStream): DeviceTensor {
    const n = numRows;
    const rows = logits.rows(0, n);
    const ids = this.#ids.rows(0, n);
    let allGreedy = true;
    for (let i = 0; i < n; i++) {
      const p = rowParams[i]?.params;
      if (p && p.temperature >= GREEDY_TEMPERATURE_EPSILON) allGreedy = false;
    }
    if (allGreedy) {
      argmax(ids, rows, { stream });
    } else {
      const h = this.#host[this.#half]!;
      this.#half ^= 1;
      for (let i = 0; i < n; i++) {
        const r = rowParams[i];
        const p = r?.params;
        h.temperature[i] = p ? p.temperature : 0;
        h.topK[i] = p ? Math.max(p.topK, 0) : 0;
        h.topP[i] = p ? p.topP : 1;
        h.minP[i] = p ? p.minP : 0;
        h.uniform[i] = r && p!.temperature >= GREEDY_TEMPERATURE_EPSILON ? r.generator.nextDouble() : 0;
      }
      // On the stream: ordered after the previous launch's kernel, which reads the same buffers.
      copyFromHostAsync(this.#temperature.rows(0, n), h.temperature.subarray(0, n), { stream });
      copyFromHostAsync(this.#topK.rows(0, n), h.topK.subarray(0, n), { stream });
      copyFromHostAsync(this.#topP.rows(0, n), h.topP.subarray(0, n), { stream });
      copyFromHostAsync(this.#minP.rows(0, n), h.minP.subarray(0, n), { stream });
      copyFromHostAsync(this.#uniform.rows(0, n), h.uniform.subarray(0, n), { stream });
      sample(
        {
          out: ids,
          logits: rows,
          temperature: this.#temperature.rows(0, n),
          topK: this.#topK.rows(0, n),
          topP: this.#topP.rows(0, n),
          minP: this.#minP.rows(0, n),
          uniform: this.#uniform.rows(0, n),
        },
        { stream },
      );
    }
    return ids;
  }

  /** The sampled-id buffer (int32 `[capacity]`): row i of the last launch at index i. */
  get ids(): DeviceTensor {
    return this.#ids;
  }

  /** Rows one call may sample. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Frees the device buffers (synchronize first). */
  free(): void {
    for (const t of [this.#ids, this.#temperature, this.#topK, this.#topP, this.#minP, this.#uniform]) t.free();
  }
}
