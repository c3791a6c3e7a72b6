import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode } from '../dtype.js';
import { checkTensor } from '../internal/check.js';
import { streamHandle } from '../stream.js';
import type { OpOptions } from './layers.js';

/**
 * Greedy decoding: the index of each row's largest logit (the first on ties; NaN ignored).
 * @param out int32 [numRows]
 * @param logits [numRows, vocabSize], any float dtype
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function argmax(out: DeviceTensor, logits: DeviceTensor, options: OpOptions = {}): void {
  const s = 'argmax';
  checkTensor(s, 'logits', logits, { dtype: ['float32', 'float16', 'bfloat16'], shape: [null, null] });
  const [rows, vocab] = logits.shape as [number, number];
  checkTensor(s, 'out', out, { dtype: 'int32', shape: [rows] });
  getBinding().argmax(dtypeCode(logits.dtype), out.address, logits.address, rows, vocab, streamHandle(options.stream));
}

/** Arguments of {@link sample}: per-row parameters live on the device so a batch mixes them freely. */
export interface SampleArgs {
  /** int32 [numRows]: the sampled token ids. */
  readonly out: DeviceTensor;
  /** float32 [numRows, vocabSize]; not modified. */
  readonly logits: DeviceTensor;
  /** float32 [numRows]; below 1e-5 means greedy. */
  readonly temperature: DeviceTensor;
  /** int32 [numRows]; 0 (or >= vocabSize) disables. */
  readonly topK: DeviceTensor;
  /** float32 [numRows] in (0, 1]; 1 disables. */
  readonly topP: DeviceTensor;
  /** float32 [numRows] in [0, 1]; 0 disables. */
  readonly minP: DeviceTensor;
  /** float32 [numRows]: one uniform draw in [0, 1) per row, from the caller's (seeded) generator. */
  readonly uniform: DeviceTensor;
}

/**
 * Samples one token per row on the device: temperature, then min-p, top-k (ties kept), top-p over
 * the survivors, then an inverse-CDF draw over the survivors in token-id order using `uniform`.
 * Equal inputs give equal outputs, so a seeded generator on the host makes sampling reproducible.
 * @param args tensors
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function sample(args: SampleArgs, options: OpOptions = {}): void {
  const s = 'sample';
  checkTensor(s, 'logits', args.logits, { dtype: 'float32', shape: [null, null] });
  const [rows, vocab] = args.logits.shape as [number, number];
  checkTensor(s, 'out', args.out, { dtype: 'int32', shape: [rows] });
  checkTensor(s, 'temperature', args.temperature, { dtype: 'float32', shape: [rows] });
  checkTensor(s, 'topK', args.topK, { dtype: 'int32', shape: [rows] });
  checkTensor(s, 'topP', args.topP, { dtype: 'float32', shape: [rows] });
  checkTensor(s, 'minP', args.minP, { dtype: 'float32', shape: [rows] });
  checkTensor(s, 'uniform', args.uniform, { dtype: 'float32', shape: [rows] });
  getBinding().sample(
    args.out.address, args.logits.address, rows, vocab, args.temperature.address, args.topK.address, args.topP.address,
    args.minP.address, args.uniform.address, streamHandle(options.stream),
  );
}

/** Arguments of {@link applyPenalties}. */
export interface ApplyPenaltiesArgs {
  /** float32 [numRows, vocabSize], modified in place. */
  readonly logits: DeviceTensor;
  /** int32 [numRows, vocabSize] scratch (overwritten). */
  readonly counts: DeviceTensor;
  /** int32 [numRows, promptWidth]; negative entries are padding. */
  readonly promptTokens: DeviceTensor;
  /** int32 [numRows, outputWidth]; negative entries are padding. */
  readonly outputTokens: DeviceTensor;
  /** float32 [numRows]; 1 disables. */
  readonly repetition: DeviceTensor;
  /** float32 [numRows]; 0 disables. */
  readonly frequency: DeviceTensor;
  /** float32 [numRows]; 0 disables. */
  readonly presence: DeviceTensor;
}

/**
 * vLLM's penalties, in place: for tokens seen in the prompt or output, repetition divides positive
 * logits and multiplies negative ones by the penalty; then for tokens in the output, frequency
 * subtracts penalty x count and presence subtracts the penalty once.
 * @param args tensors
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function applyPenalties(args: ApplyPenaltiesArgs, options: OpOptions = {}): void {
  const s = 'applyPenalties';
  checkTensor(s, 'logits', args.logits, { dtype: 'float32', shape: [null, null] });
  const [rows, vocab] = args.logits.shape as [number, number];
  checkTensor(s, 'counts', args.counts, { dtype: 'int32', shape: [rows, vocab] });
  checkTensor(s, 'promptTokens', args.promptTokens, { dtype: 'int32', shape: [rows, null] });
  checkTensor(s, 'outputTokens', args.outputTokens, { dtype: 'int32', shape: [rows, null] });
  for (const name of ['repetition', 'frequency', 'presence'] as const) {
    checkTensor(s, name, args[name], { dtype: 'float32', shape: [rows] });
  }
  getBinding().applyPenalties(
    args.logits.address, args.counts.address, rows, vocab, args.promptTokens.address, args.promptTokens.shape[1]!,
    args.outputTokens.address, args.outputTokens.shape[1]!, args.repetition.address, args.frequency.address,
    args.presence.address, streamHandle(options.stream),
  );
}
