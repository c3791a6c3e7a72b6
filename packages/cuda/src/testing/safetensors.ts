// A minimal safetensors reader for tests: header JSON, then raw little-endian tensors.
import { readFileSync } from 'node:fs';

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** F32 -> Float32Array; BF16/F16 -> raw Uint16Array bit patterns. */
  data: Float32Array | Uint16Array;
}

export function readSafetensors(file: string): Map<string, SafeTensor> {
  const bytes = readFileSync(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + headerLen;
  const out = new Map<string, SafeTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [start, end] = info.data_offsets;
    const slice = bytes.buffer.slice(bytes.byteOffset + base + start, bytes.byteOffset + base + end);
    const data = info.dtype === 'F32' ? new Float32Array(slice) : new Uint16Array(slice);
    out.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return out;
}
