import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from './safetensors.js';
import { roundToDtype } from './tensor-dtype.js';

const dir = mkdtempSync(join(tmpdir(), 'vllm-ts-st-'));

/** Bytes of a safetensors file: 8-byte header length, header JSON, then `data`. */
function file(header: unknown, data: Uint8Array, headerText?: string): string {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, `${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(path, Buffer.concat([len, json, data]));
  return path;
}

/** A header length claiming 2^40 bytes: refused before any read. */
function huge(): string {
  const path = join(dir, 'huge.safetensors');
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64LE(1n << 40n);
  writeFileSync(path, buf);
  return path;
}

function f32(...xs: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

describe('SafetensorsFile', () => {
  it('reads F32, F16 and BF16 tensors at their offsets, including unaligned ones', () => {
    const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x3eaa]); // 1, -3, 0.33203125
    const f16 = Uint16Array.from([0x3c00, 0xc200, 0x0001]); // 1, -3, 2^-24
    const data = Buffer.concat([Buffer.from([7]), Buffer.from(f32(1.5, -2)), Buffer.from(bf16.buffer), Buffer.from(f16.buffer)]);
    const path = file(
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
        b: { dtype: 'BF16', shape: [3, 1], data_offsets: [9, 15] },
        c: { dtype: 'F16', shape: [3], data_offsets: [15, 21] },
      },
      data,
    );
    const st = SafetensorsFile.open(path);
    expect(st.header.metadata).toEqual({ format: 'pt' });
    expect(st.header.tensors.get('b')!.shape).toEqual([3, 1]);
    expect(Array.from(st.readFloat32('a'))).toEqual([1.5, -2]);
    expect(Array.from(st.readFloat32('b'))).toEqual([1, -3, 0.33203125]);
    expect(Array.from(st.readFloat32('c'))).toEqual([1, -3, 2 ** -24]);
    expect(() => st.readFloat32('nope')).toThrow(/has no tensor "nope"/);
    st.close();
    st.close();
  });

  it.each([
    ['a file shorter than 8 bytes', () => { const p = join(dir, 'short'); writeFileSync(p, Buffer.from([1, 2])); return p; }, /is 2 bytes long/],
    ['a header length past the end', () => huge(), /header length 1099511627776 exceeds the file/],
    ['bad JSON', () => file(null, new Uint8Array(4), '{"a": '), /not valid UTF-8 JSON/],
    ['a JSON array header', () => file([1, 2], new Uint8Array(0)), /must be a JSON object/],
    ['an unknown dtype', () => file({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /dtype "F8"/],
    ['a negative dimension', () => file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape must be/],
    ['offsets past the end', () => file({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /outside the data section of 8 bytes/],
    ['reversed offsets', () => file({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(8)), /outside the data section/],
    ['a byte count that disagrees with dtype and shape', () => file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /holds 8 bytes but dtype F32 with shape \[3\] needs 12/],
  ] as const)('refuses %s with model_load_failed', (_, make, message) => {
    const path = make();
    let error: unknown;
    try {
      SafetensorsFile.open(path);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'model_load_failed' });
    expect((error as Error).message).toMatch(message);
  });

  it('refuses integer tensors as weights', () => {
    const st = SafetensorsFile.open(file({ i: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
    expect(() => st.readFloat32('i')).toThrow(/weights must be F32, F16, BF16 or F64/);
    st.close();
  });
});

describe('roundToDtype', () => {
  it('rounds to the nearest bfloat16 / float16 value, ties to even', () => {
    const x = Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 2 ** -25 * 3]);
    const b = Float32Array.from(x);
    roundToDtype(b, 'bfloat16');
    expect(Array.from(b.subarray(0, 2))).toEqual([1, 1 + 2 ** -6]);
    const h = Float32Array.from(x);
    roundToDtype(h, 'float16');
    expect(Array.from(h.subarray(2))).toEqual([1, 1 + 2 ** -9, Infinity, 2 ** -24 * 2]);
  });
});
