// Host-side helpers of LlamaForward: stacking weight rows and laying out a step's inputs.
import { InvalidArgumentError } from '@vllm-ts/core';
import type { HostData } from '../device-tensor.js';

/** Rows of several tensors stacked, all raw 16-bit or all float values. */
export function concatRows(parts: readonly HostData[]): HostData {
  const raw = parts.every((p) => p instanceof Uint16Array);
  if (!raw && parts.some((p) => p instanceof Uint16Array)) invalidMix();
  const out = raw ? new Uint16Array(parts.reduce((a, p) => a + p.length, 0)) : new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p as ArrayLike<number>, off);
    off += p.length;
  }
  return out;
}

/**
 * Whether an optional weight is given, without reading it: host weights may be getters that load
 * their tensor on access (a streaming loader), and each access would load it again.
 */
export function has(obj: object, key: string): boolean {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  return d !== undefined && (d.get !== undefined || d.value !== undefined);
}

function invalidMix(): never {
  throw new InvalidArgumentError('invalid_weights', 'LlamaForward', 'weights', 'all raw 16-bit or all float values', 'a mix');
}

export interface InputLayout {
  readonly offsets: Record<'seqLens' | 'queryStartLoc' | 'logitsIndices' | 'tokenIds' | 'positions' | 'slotMapping' | 'blockTables', number>;
  readonly total: number;
}

/** Offsets of the step inputs in their shared buffer; block tables last, so a step copies a prefix. */
export function inputLayout(T: number, S: number, L: number, W: number): InputLayout {
  const sizes = { seqLens: S, queryStartLoc: S + 1, logitsIndices: L, tokenIds: T, positions: T, slotMapping: T, blockTables: S * W };
  const offsets = {} as Record<keyof typeof sizes, number>;
  let total = 0;
  for (const [k, n] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
    offsets[k] = total;
    total += n;
  }
  return { offsets, total };
}
