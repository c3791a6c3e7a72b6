import { GREEDY_TEMPERATURE_EPSILON, type SamplingParamsData } from '@vllm-ts/core';
import { argmax, DeviceTensor, sample, type CudaStream } from '@vllm-ts/cuda';
import type { RandomGenerator } from '../sample/random-generator.js';
import type { PlannedRequest } from './forward-batch-builder.js';

/**
 * True when a request's next token can be sampled on the device: plain temperature / top-k /
 * top-p / min-p sampling or greedy, with no logprobs, penalties, logit bias, allowed-token list,
 * drafts or min-tokens masking left. Everything else takes the host sampler (exact vLLM semantics on float32 rows).
 * @param r the request's row plan
 */
export function samplesOnDevice(r: PlannedRequest): boolean {
  const p: SamplingParamsData = r.state.params;
  return (
    r.sampleRows.length === 1 &&
    r.promptRows.length === 0 &&
    r.drafts.length === 0 &&
    p.logprobs === null &&
    p.repetitionPenalty === 1 &&
    p.frequencyPenalty === 0 &&
    p.presencePenalty === 0 &&
    p.logitBias === null &&
    p.allowedTokenIds === null &&
    r.state.tokens.length - r.state.numPromptTokens >= p.minTokens
  );
}

/** Per-row sampling parameters and outputs on the device, reused every step. */
export class DeviceSampler {
  readonly #capacity: number;
  readonly #ids: DeviceTensor;
  readonly #temperature: DeviceTensor;
  readonly #topK: DeviceTensor;
  readonly #topP: DeviceTensor;
  readonly #minP: DeviceTensor;
  readonly #uniform: DeviceTensor;
  readonly #host: { temperature: Float32Array; topK: Int32Array; topP: Float32Array; minP: Float32Array; uniform: Float32Array };

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
    this.#host = {
      temperature: new Float32Array(capacity),
      topK: new Int32Array(capacity),
      topP: new Float32Array(capacity),
      minP: new Float32Array(capacity),
      uniform: new Float32Array(capacity),
    };
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
  sample(logits: DeviceTensor, numRows: number, rowParams: readonly ({ params: SamplingParamsData; generator: RandomGenerator } | null)[], stream: CudaStream): Int32Array {
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
      const h = this.#host;
      for (let i = 0; i < n; i++) {
        const r = rowParams[i];
        const p = r?.params;
        h.temperature[i] = p ? p.temperature : 0;
        h.topK[i] = p ? Math.max(p.topK, 0) : 0;
        h.topP[i] = p ? p.topP : 1;
        h.minP[i] = p ? p.minP : 0;
        h.uniform[i] = r && p!.temperature >= GREEDY_TEMPERATURE_EPSILON ? r.generator.nextDouble() : 0;
      }
      stream.synchronize();
      this.#temperature.rows(0, n).copyFromHost(h.temperature.subarray(0, n));
      this.#topK.rows(0, n).copyFromHost(h.topK.subarray(0, n));
      this.#topP.rows(0, n).copyFromHost(h.topP.subarray(0, n));
      this.#minP.rows(0, n).copyFromHost(h.minP.subarray(0, n));
      this.#uniform.rows(0, n).copyFromHost(h.uniform.subarray(0, n));
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
    return ids.toHost(stream) as Int32Array;
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
