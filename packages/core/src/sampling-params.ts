import { didYouMean } from './did-you-mean.js';
import { InvalidArgumentError } from './errors.js';

/**
 * Sampling settings of one request, as plain data (this shape survives `structuredClone` and
 * `postMessage`). Field names are the camelCase of vLLM's `SamplingParams`.
 */
export interface SamplingParamsData {
  /** Number of output sequences for the prompt (parallel sampling). */
  readonly n: number;
  /** Softmax temperature; 0 means greedy (argmax). */
  readonly temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability sums to at least this; 1 disables. */
  readonly topP: number;
  /** Keep only the k most likely tokens; 0 disables (vLLM's -1 is accepted and stored as 0). */
  readonly topK: number;
  /** Drop tokens whose probability is below `minP` times the top token's; 0 disables. */
  readonly minP: number;
  /** Seed of this request's own random stream; null uses the engine's generator. */
  readonly seed: number | null;
  /** Most tokens to generate; null lets the engine fill in `maxModelLen - promptLen`. */
  readonly maxTokens: number | null;
  /** Fewest tokens to generate before EOS, stop tokens or stop strings may end the request. */
  readonly minTokens: number;
  /** Strings that end generation; the matched string is not part of the text unless `includeStopStrInOutput`. */
  readonly stop: readonly string[];
  /** Token ids that end generation (in addition to EOS). */
  readonly stopTokenIds: readonly number[];
  /** Keep generating after EOS (stop token ids still apply). */
  readonly ignoreEos: boolean;
  /** Subtract this from the logit of every token already generated (OpenAI semantics), in [-2, 2]. */
  readonly presencePenalty: number;
  /** Subtract this times the count of each token already generated, in [-2, 2]. */
  readonly frequencyPenalty: number;
  /** Divide positive (multiply negative) logits of tokens seen in prompt or output by this; 1 disables. */
  readonly repetitionPenalty: number;
  /** Number of top log-probabilities returned per generated token (plus the sampled one); null returns none. */
  readonly logprobs: number | null;
  /** Number of top log-probabilities returned per prompt token; null returns none. */
  readonly promptLogprobs: number | null;
  /** Leave special tokens out of the detokenized text. */
  readonly skipSpecialTokens: boolean;
  /** Put a matched stop string at the end of the text instead of cutting it. */
  readonly includeStopStrInOutput: boolean;
  /**
   * Added to the logit of each listed token id before penalties and sampling (vLLM's `logit_bias`):
   * keys are token ids in canonical decimal form, values in [-100, 100]; null adds nothing.
   * Logprobs stay those of the raw logits, as vLLM V1 returns by default.
   */
  readonly logitBias: Readonly<Record<number, number>> | null;
  /** Only these token ids may be sampled (vLLM's `allowed_token_ids`); null allows every token. */
  readonly allowedTokenIds: readonly number[] | null;
}

/** Input accepted by {@link SamplingParams}: every field optional. */
export type SamplingParamsInit = Partial<Omit<SamplingParamsData, 'stop' | 'logitBias'>> & {
  readonly stop?: string | readonly string[];
  /** A Map or an object from token ids (numbers, or decimal strings as JSON keys carry) to biases. */
  readonly logitBias?: ReadonlyMap<number, number> | Readonly<Record<number | string, number>> | null;
};

/** Largest magnitude of a logit bias (OpenAI's and vLLM's range is [-100, 100]). */
const MAX_LOGIT_BIAS = 100;

const DEFAULTS: SamplingParamsData = {
  n: 1,
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  seed: null,
  maxTokens: 16,
  minTokens: 0,
  stop: [],
  stopTokenIds: [],
  ignoreEos: false,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logprobs: null,
  promptLogprobs: null,
  skipSpecialTokens: true,
  includeStopStrInOutput: false,
  logitBias: null,
  allowedTokenIds: null,
};

const FIELDS = Object.keys(DEFAULTS) as (keyof SamplingParamsData)[];

/** Temperatures below this are treated as greedy, as vLLM does. */
export const GREEDY_TEMPERATURE_EPSILON = 1e-5;

/** Largest seed accepted: seeds must fit in a signed 64-bit integer and be exact in a double. */
const MAX_SEED = Number.MAX_SAFE_INTEGER;

/**
 * Validated, frozen sampling settings of one request.
 *
 * Every field is checked once, in the constructor; an invalid one throws
 * {@link InvalidArgumentError} (code `invalid_sampling_params`) naming the field, the allowed
 * range and the value received. Unknown fields are refused with a did-you-mean.
 *
 * @example
 * ```ts
 * const params = new SamplingParams({ temperature: 0.8, topP: 0.95, maxTokens: 64, stop: ['\n\n'] });
 * params.isGreedy; // false
 * ```
 */
export class SamplingParams implements SamplingParamsData {
  readonly n!: number;
  readonly temperature!: number;
  readonly topP!: number;
  readonly topK!: number;
  readonly minP!: number;
  readonly seed!: number | null;
  readonly maxTokens!: number | null;
  readonly minTokens!: number;
  readonly stop!: readonly string[];
  readonly stopTokenIds!: readonly number[];
  readonly ignoreEos!: boolean;
  readonly presencePenalty!: number;
  readonly frequencyPenalty!: number;
  readonly repetitionPenalty!: number;
  readonly logprobs!: number | null;
  readonly promptLogprobs!: number | null;
  readonly skipSpecialTokens!: boolean;
  readonly includeStopStrInOutput!: boolean;
  readonly logitBias!: Readonly<Record<number, number>> | null;
  readonly allowedTokenIds!: readonly number[] | null;

  /**
   * @param init the fields to set; the rest take vLLM's defaults (`temperature` 1, `maxTokens` 16, ...)
   * @throws InvalidArgumentError when a field is unknown or out of range
   */
  constructor(init: SamplingParamsInit = {}) {
    Object.assign(this, resolveSamplingParams(init));
    Object.freeze(this);
  }

  /** True when sampling is greedy (temperature below 1e-5). */
  get isGreedy(): boolean {
    return this.temperature < GREEDY_TEMPERATURE_EPSILON;
  }

  /**
   * A copy with some fields changed (validated again).
   * @param changes fields to override
   */
  with(changes: SamplingParamsInit): SamplingParams {
    return new SamplingParams({ ...toData(this), ...changes });
  }

  /** Plain-object form (what `JSON.stringify` and `postMessage` carry). */
  toJSON(): SamplingParamsData {
    return toData(this);
  }
}

function toData(p: SamplingParamsData): SamplingParamsData {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = p[f];
  return out as unknown as SamplingParamsData;
}

/**
 * Validates `init` and returns complete, frozen plain sampling settings.
 * {@link SamplingParams} calls this; call it directly when a class instance is not wanted.
 *
 * @param init fields to set (unknown keys refused)
 * @throws InvalidArgumentError (`invalid_sampling_params`) naming the field, the allowed range and the value
 */
export function resolveSamplingParams(init: SamplingParamsInit | SamplingParamsData = {}): SamplingParamsData {
  if (typeof init !== 'object' || init === null) {
    throw new InvalidArgumentError('invalid_sampling_params', 'SamplingParams', '(init)', 'an object', init);
  }
  for (const key of Object.keys(init)) {
    if (!(FIELDS as string[]).includes(key)) {
      const guess = didYouMean(key, FIELDS);
      throw new InvalidArgumentError(
        'invalid_sampling_params',
        'SamplingParams',
        key,
        'a known field',
        (init as Record<string, unknown>)[key],
        guess ? `Did you mean "${guess}"?` : `Known fields: ${FIELDS.join(', ')}`,
      );
    }
  }
  const v = { ...DEFAULTS, ...stripUndefined(init) } as Record<keyof SamplingParamsData, unknown>;

  const n = int(v, 'n', 1, 1024);
  const temperature = num(v, 'temperature', 0, Infinity, 'a finite number >= 0');
  const topP = num(v, 'topP', 0, 1, 'a number in (0, 1]');
  if (topP <= 0) bad('topP', 'a number in (0, 1]', topP);
  let topK = int(v, 'topK', -1, Number.MAX_SAFE_INTEGER, 'an integer >= 1, or 0 or -1 to disable');
  if (topK < 0) topK = 0;
  const minP = num(v, 'minP', 0, 1, 'a number in [0, 1]');
  const seed = v.seed === null ? null : int(v, 'seed', -MAX_SEED, MAX_SEED, 'an integer (a safe 64-bit value) or null');
  const maxTokens = v.maxTokens === null ? null : int(v, 'maxTokens', 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1, or null');
  const minTokens = int(v, 'minTokens', 0, Number.MAX_SAFE_INTEGER, 'an integer >= 0');
  if (maxTokens !== null && minTokens > maxTokens) bad('minTokens', `an integer <= maxTokens (${maxTokens})`, minTokens);
  const stop = stopStrings(v.stop);
  const stopTokenIds = tokenIds(v.stopTokenIds);
  const ignoreEos = bool(v, 'ignoreEos');
  const presencePenalty = num(v, 'presencePenalty', -2, 2, 'a number in [-2, 2]');
  const frequencyPenalty = num(v, 'frequencyPenalty', -2, 2, 'a number in [-2, 2]');
  const repetitionPenalty = num(v, 'repetitionPenalty', 0, Infinity, 'a finite number > 0');
  if (repetitionPenalty <= 0) bad('repetitionPenalty', 'a finite number > 0', repetitionPenalty);
  const logprobs = v.logprobs === null ? null : int(v, 'logprobs', 0, Number.MAX_SAFE_INTEGER, 'an integer >= 0, or null');
  const promptLogprobs =
    v.promptLogprobs === null ? null : int(v, 'promptLogprobs', 0, Number.MAX_SAFE_INTEGER, 'an integer >= 0, or null');
  const skipSpecialTokens = bool(v, 'skipSpecialTokens');
  const includeStopStrInOutput = bool(v, 'includeStopStrInOutput');
  const logitBias = v.logitBias === null ? null : logitBiasMap(v.logitBias);
  const allowedTokenIds = v.allowedTokenIds === null ? null : allowedIds(v.allowedTokenIds);

  return Object.freeze({
    n,
    temperature,
    topP,
    topK,
    minP,
    seed,
    maxTokens,
    minTokens,
    stop,
    stopTokenIds,
    ignoreEos,
    presencePenalty,
    frequencyPenalty,
    repetitionPenalty,
    logprobs,
    promptLogprobs,
    skipSpecialTokens,
    includeStopStrInOutput,
    logitBias,
    allowedTokenIds,
  });
}

function stripUndefined(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
}

function bad(field: string, expected: string, received: unknown): never {
  throw new InvalidArgumentError('invalid_sampling_params', 'SamplingParams', field, expected, received);
}

function num(v: Record<string, unknown>, field: string, min: number, max: number, expected: string): number {
  const x = v[field];
  if (typeof x !== 'number' || Number.isNaN(x) || x < min || x > max || (max === Infinity && !Number.isFinite(x))) {
    bad(field, expected, x);
  }
  return x;
}

function int(v: Record<string, unknown>, field: string, min: number, max: number, expected?: string): number {
  const x = v[field];
  const what = expected ?? `an integer in [${min}, ${max}]`;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) bad(field, what, x);
  return x;
}

function bool(v: Record<string, unknown>, field: string): boolean {
  const x = v[field];
  if (typeof x !== 'boolean') bad(field, 'a boolean', x);
  return x;
}

function stopStrings(x: unknown): readonly string[] {
  const list = typeof x === 'string' ? [x] : x;
  if (!Array.isArray(list)) bad('stop', 'a string or an array of strings', x);
  list.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) bad(`stop[${i}]`, 'a non-empty string', s);
  });
  return Object.freeze([...(list as string[])]);
}

function tokenIds(x: unknown, field = 'stopTokenIds'): readonly number[] {
  if (!Array.isArray(x)) bad(field, 'an array of token ids (integers >= 0)', x);
  x.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) bad(`${field}[${i}]`, 'an integer >= 0', t);
  });
  return Object.freeze([...(x as number[])]);
}

function allowedIds(x: unknown): readonly number[] {
  const ids = tokenIds(x, 'allowedTokenIds');
  if (ids.length === 0) bad('allowedTokenIds', 'a non-empty array of token ids, or null', x);
  return Object.freeze([...new Set(ids)]);
}

/** A token id key: a safe integer >= 0, or its canonical decimal string (what JSON object keys carry). */
function tokenIdKey(key: unknown): number | null {
  if (typeof key === 'number') return Number.isSafeInteger(key) && key >= 0 ? key : null;
  if (typeof key !== 'string' || !/^(0|[1-9][0-9]*)$/.test(key)) return null;
  const id = Number(key);
  return Number.isSafeInteger(id) ? id : null;
}

function logitBiasMap(x: unknown): Readonly<Record<number, number>> {
  let entries: [unknown, unknown][];
  if (x instanceof Map) entries = [...(x as Map<unknown, unknown>).entries()];
  else if (typeof x === 'object' && x !== null && !Array.isArray(x)) entries = Object.entries(x);
  else bad('logitBias', 'an object or Map from token ids to numbers in [-100, 100], or null', x);
  const out: Record<number, number> = {};
  for (const [key, value] of entries) {
    const id = tokenIdKey(key);
    if (id === null) bad('logitBias', 'keyed by token ids (integers >= 0, or their decimal strings)', key);
    if (id in out) bad(`logitBias[${id}]`, 'given once', value);
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_LOGIT_BIAS) {
      bad(`logitBias[${id}]`, `a number in [-${MAX_LOGIT_BIAS}, ${MAX_LOGIT_BIAS}]`, value);
    }
    out[id] = value;
  }
  return Object.freeze(out);
}
