import { InvalidArgumentError } from '@vllm-ts/core';
import { getBinding } from '../binding.js';
import type { DeviceTensor } from '../device-tensor.js';
import { dtypeCode } from '../dtype.js';
import { checkInt, checkNumber, checkSameDType, checkTensor } from '../internal/check.js';
import { streamHandle } from '../stream.js';
import type { OpOptions } from './layers.js';

/** Head dims the attention kernels are compiled for. */
export const ATTENTION_HEAD_DIMS: readonly number[] = Object.freeze([8, 16, 32, 64, 128]);

/**
 * Tokens of context one split of the decode kernel covers: 512, halved (down to 64) while the grid
 * (sequences x kv heads x splits) would be under ~2 waves of a 132-SM GPU. Mirrors the native rule.
 * @param numSeqs sequences in the batch
 * @param numKvHeads kv heads
 * @param maxSeqLen longest context
 * @returns the partition size
 */
export function decodePartitionSize(numSeqs: number, numKvHeads: number, maxSeqLen: number): number {
  let size = 512;
  while (size > 64 && numSeqs * numKvHeads * Math.ceil(maxSeqLen / size) < 264) size /= 2;
  return size;
}

const FLOATS = ['float32', 'float16', 'bfloat16'] as const;

/** Arguments of {@link writeKvCache}. */
export interface WriteKvCacheArgs {
  /** Shape `[numTokens, numKvHeads * headDim]`; may be a column view of a fused qkv tensor. */
  readonly key: DeviceTensor;
  /** Same shape as key. */
  readonly value: DeviceTensor;
  /** Shape `[numBlocks, blockSize, numKvHeads, headDim]`. */
  readonly keyCache: DeviceTensor;
  /** Same shape as keyCache. */
  readonly valueCache: DeviceTensor;
  /** int32 [numTokens]: block * blockSize + offset, or negative to skip (padding). */
  readonly slotMapping: DeviceTensor;
}

function checkCaches(s: string, keyCache: DeviceTensor, valueCache: DeviceTensor): [number, number, number, number] {
  checkTensor(s, 'keyCache', keyCache, { dtype: FLOATS, shape: [null, null, null, null] });
  checkTensor(s, 'valueCache', valueCache, { dtype: keyCache.dtype, shape: keyCache.shape });
  return keyCache.shape as [number, number, number, number];
}

/**
 * Writes this step's keys and values into their paged-cache slots.
 * @param args tensors
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes or dtypes
 */
export function writeKvCache(args: WriteKvCacheArgs, options: OpOptions = {}): void {
  const s = 'writeKvCache';
  const [, , numKvHeads, headDim] = checkCaches(s, args.keyCache, args.valueCache);
  checkTensor(s, 'slotMapping', args.slotMapping, { dtype: 'int32', shape: [null] });
  const n = args.slotMapping.shape[0]!;
  checkTensor(s, 'key', args.key, { dtype: args.keyCache.dtype, shape: [n, numKvHeads * headDim], contiguous: false });
  checkTensor(s, 'value', args.value, { dtype: args.keyCache.dtype, shape: [n, numKvHeads * headDim], contiguous: false });
  getBinding().writeKvCache(
    dtypeCode(args.key.dtype), args.key.address, args.key.rowStride, args.value.address, args.value.rowStride,
    args.keyCache.address, args.valueCache.address, args.slotMapping.address, n, numKvHeads, headDim, streamHandle(options.stream),
  );
}

/** Arguments shared by the prefill and decode attention ops. */
export interface PagedAttentionArgs {
  /** Destination [numTokens, numHeads * headDim], contiguous. */
  readonly out: DeviceTensor;
  /** Shape `[numTokens, numHeads * headDim]`; may be a column view of a fused qkv tensor. */
  readonly query: DeviceTensor;
  readonly keyCache: DeviceTensor;
  readonly valueCache: DeviceTensor;
  /** int32 [numSeqs, maxBlocksPerSeq]. */
  readonly blockTables: DeviceTensor;
  /** int32 [numSeqs]: context length of each sequence, this step's tokens included; >= 1. */
  readonly seqLens: DeviceTensor;
  readonly numHeads: number;
  /** Softmax scale, usually 1 / sqrt(headDim). */
  readonly scale: number;
}

/** Arguments of {@link pagedAttentionPrefill}. */
export interface PagedAttentionPrefillArgs extends PagedAttentionArgs {
  /** int32 [numSeqs + 1]: prefix sums of each sequence's new tokens (its rows in query/out). */
  readonly queryStartLoc: DeviceTensor;
  /** Upper bound on any sequence's new tokens this step (sizes the grid). */
  readonly maxQueryLen: number;
}

/** Arguments of {@link pagedAttentionDecode}. */
export interface PagedAttentionDecodeArgs extends PagedAttentionArgs {
  /** Upper bound on any seqLens entry (sizes the grid and the workspace). */
  readonly maxSeqLen: number;
  /** float32 scratch of at least {@link decodeWorkspaceFloats} elements. */
  readonly workspace: DeviceTensor;
}

interface Geometry {
  numSeqs: number;
  numKvHeads: number;
  headDim: number;
  blockSize: number;
  maxBlocks: number;
}

function checkCommon(s: string, a: PagedAttentionArgs, numTokens: number): Geometry {
  const [, blockSize, numKvHeads, headDim] = checkCaches(s, a.keyCache, a.valueCache);
  if (!ATTENTION_HEAD_DIMS.includes(headDim)) {
    throw new InvalidArgumentError('invalid_shape', s, 'keyCache.shape[3]', `a head dim in ${ATTENTION_HEAD_DIMS.join(', ')}`, headDim);
  }
  const numHeads = checkInt(s, 'numHeads', a.numHeads, 1);
  if (numHeads % numKvHeads !== 0) {
    throw new InvalidArgumentError('invalid_argument', s, 'numHeads', `a multiple of numKvHeads (${numKvHeads})`, numHeads);
  }
  checkNumber(s, 'scale', a.scale);
  checkTensor(s, 'seqLens', a.seqLens, { dtype: 'int32', shape: [null] });
  const numSeqs = a.seqLens.shape[0]!;
  checkTensor(s, 'blockTables', a.blockTables, { dtype: 'int32', shape: [numSeqs, null] });
  checkTensor(s, 'query', a.query, { dtype: a.keyCache.dtype, shape: [numTokens, numHeads * headDim], contiguous: false });
  checkTensor(s, 'out', a.out, { dtype: a.keyCache.dtype, shape: [numTokens, numHeads * headDim] });
  checkSameDType(s, 'query', a.keyCache, a.query);
  return { numSeqs, numKvHeads, headDim, blockSize, maxBlocks: a.blockTables.shape[1]! };
}

/**
 * Causal attention for chunks of new tokens (prefill or chunked prefill) over the paged cache,
 * whose slots for these tokens must already be written ({@link writeKvCache}). Query token i of a
 * sequence with q new tokens attends to cache positions 0 .. seqLen - q + i. GQA/MQA: query head h
 * reads kv head h / (numHeads / numKvHeads).
 * @param args tensors and geometry
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes, dtypes or an unsupported head dim
 */
export function pagedAttentionPrefill(args: PagedAttentionPrefillArgs, options: OpOptions = {}): void {
  const s = 'pagedAttentionPrefill';
  checkTensor(s, 'queryStartLoc', args.queryStartLoc, { dtype: 'int32', shape: [null] });
  const numTokens = args.query.shape[0] ?? 0;
  const g = checkCommon(s, args, numTokens);
  checkTensor(s, 'queryStartLoc', args.queryStartLoc, { dtype: 'int32', shape: [g.numSeqs + 1] });
  const maxQueryLen = checkInt(s, 'maxQueryLen', args.maxQueryLen, 0, numTokens);
  getBinding().pagedAttention(
    dtypeCode(args.query.dtype), args.out.address, args.query.address, args.query.rowStride, args.keyCache.address,
    args.valueCache.address, args.blockTables.address, g.maxBlocks, args.seqLens.address, args.queryStartLoc.address,
    g.numSeqs, maxQueryLen, 0, args.numHeads, g.numKvHeads, g.headDim, g.blockSize, args.scale, 0n,
    streamHandle(options.stream), false,
  );
}

/**
 * Floats of scratch {@link pagedAttentionDecode} needs.
 * @param numSeqs sequences in the batch
 * @param numHeads query heads
 * @param numKvHeads kv heads
 * @param headDim head dim
 * @param maxSeqLen longest context
 * @returns the element count for a float32 workspace tensor
 */
export function decodeWorkspaceFloats(numSeqs: number, numHeads: number, numKvHeads: number, headDim: number, maxSeqLen: number): number {
  const parts = Math.ceil(maxSeqLen / decodePartitionSize(numSeqs, numKvHeads, maxSeqLen));
  // Arrival counters (8 bytes per sequence and kv head, plus alignment), then the partials.
  return 2 * numSeqs * numKvHeads + 2 + numSeqs * numHeads * parts * (headDim + 2);
}

/**
 * Split-K attention for one new token per sequence over the paged cache (slots already written):
 * the context is cut into partitions ({@link decodePartitionSize}) computed in parallel and merged
 * by their softmax statistics. Each block covers the query heads of one kv head, so K/V are read once
 * per group; sequences shorter than `maxSeqLen` skip the partitions past their length. Grids of at
 * most 8 (sequence, kv head) pairs (batch 1 of a Llama-3-8B-shaped model) merge in the same launch: the
 * last block of each pair to finish merges, counted in the workspace, which needs no initialization
 * (the kernel leaves its counters reset, so a captured CUDA graph replays). Larger grids merge in a
 * second launch. `VLLM_TS_DECODE_ATTENTION=one-launch` or `=two-pass` forces one path (tests, benchmarks).
 * @param args tensors, geometry and workspace
 * @param options stream
 * @throws {InvalidArgumentError} for mismatched shapes, dtypes, a short workspace or an unsupported head dim
 */
export function pagedAttentionDecode(args: PagedAttentionDecodeArgs, options: OpOptions = {}): void {
  const s = 'pagedAttentionDecode';
  const numSeqs = args.seqLens?.shape?.[0] ?? 0;
  const g = checkCommon(s, args, numSeqs);
  const maxSeqLen = checkInt(s, 'maxSeqLen', args.maxSeqLen, 1, g.maxBlocks * g.blockSize);
  const need = decodeWorkspaceFloats(numSeqs, args.numHeads, g.numKvHeads, g.headDim, maxSeqLen);
  checkTensor(s, 'workspace', args.workspace, { dtype: 'float32' });
  if (args.workspace.numel < need) {
    throw new InvalidArgumentError('invalid_shape', s, 'workspace', `at least ${need} float32 elements`, args.workspace.numel);
  }
  getBinding().pagedAttention(
    dtypeCode(args.query.dtype), args.out.address, args.query.address, args.query.rowStride, args.keyCache.address,
    args.valueCache.address, args.blockTables.address, g.maxBlocks, args.seqLens.address, 0n, numSeqs, 1, maxSeqLen,
    args.numHeads, g.numKvHeads, g.headDim, g.blockSize, args.scale, args.workspace.address,
    streamHandle(options.stream), true,
  );
}
