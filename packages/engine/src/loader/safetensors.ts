import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelLoadError } from '../model/model-error.js';
import { decodeTensor, DTYPE_BYTES, type TensorDtype } from './tensor-dtype.js';

/** One tensor's entry in a safetensors header, with offsets made absolute in the file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: TensorDtype;
  readonly shape: readonly number[];
  /** Absolute byte offset of the first element in the file. */
  readonly begin: number;
  /** Absolute byte offset one past the last element. */
  readonly end: number;
}

/** A parsed, validated safetensors header. */
export interface SafetensorsHeader {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The optional `__metadata__` string map. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Headers above this size are refused before being read (the format caps them at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Validates a safetensors header: JSON object, known dtypes, integer shapes, offsets inside the
 * data section and byte lengths equal to `product(shape) * sizeof(dtype)`.
 *
 * @param headerJson the header bytes (UTF-8 JSON)
 * @param dataStart absolute offset of the data section (8 + header length)
 * @param fileSize total file size in bytes
 * @param source file name used in error messages
 * @returns the tensors by name, offsets absolute
 * @throws ModelLoadError (`model_load_failed`) naming the file, the tensor and what was wrong
 */
export function parseSafetensorsHeader(headerJson: Uint8Array, dataStart: number, fileSize: number, source: string): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerJson));
  } catch (cause) {
    throw bad(source, 'header is not valid UTF-8 JSON', { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(source, 'header must be a JSON object');
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw bad(source, `tensor "${name}" must be an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      throw bad(source, `tensor "${name}" has dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(source, `tensor "${name}" shape must be an array of non-negative integers (got ${JSON.stringify(shape)})`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(source, `tensor "${name}" data_offsets must be [begin, end] integers (got ${JSON.stringify(offsets)})`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataSize) {
      throw bad(source, `tensor "${name}" data_offsets [${begin}, ${end}] fall outside the data section of ${dataSize} bytes`);
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[dtype as TensorDtype];
    if (end - begin !== expected) {
      throw bad(
        source,
        `tensor "${name}" holds ${end - begin} bytes but dtype ${dtype} with shape [${shape.join(', ')}] needs ${expected}`,
      );
    }
    tensors.set(name, Object.freeze({ name, dtype: dtype as TensorDtype, shape: Object.freeze([...shape]), begin: dataStart + begin, end: dataStart + end }));
  }
  return { tensors, metadata };
}

/**
 * A safetensors file opened for reading one tensor at a time (the file is never read whole).
 * Call {@link SafetensorsFile.close} when done.
 */
export class SafetensorsFile {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    header: SafetensorsHeader,
  ) {
    this.fd = fd;
    this.header = header;
  }

  /**
   * Opens and validates a safetensors file.
   * @param path the file
   * @returns the open file
   * @throws ModelLoadError (`model_load_failed`) when the file is missing, truncated or its header invalid
   */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (cause) {
      throw bad(path, 'cannot be opened', { cause });
    }
    try {
      const size = fstatSync(fd).size;
      if (size < 8) throw bad(path, `is ${size} bytes long; a safetensors file starts with an 8-byte header length`);
      const lenBytes = Buffer.alloc(8);
      readSync(fd, lenBytes, 0, 8, 0);
      const headerLen = lenBytes.readBigUInt64LE(0);
      if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
        throw bad(path, `header length ${headerLen} exceeds the file (${size} bytes) or the 100 MB limit`);
      }
      const n = Number(headerLen);
      const headerBytes = Buffer.alloc(n);
      readSync(fd, headerBytes, 0, n, 8);
      return new SafetensorsFile(path, fd, parseSafetensorsHeader(headerBytes, 8 + n, size, path));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /**
   * Reads one tensor as float32 (converted from its stored dtype).
   * @param name the tensor's name
   * @returns its elements, row-major
   * @throws ModelLoadError when the tensor is absent or its dtype is not a float type
   */
  readFloat32(name: string): Float32Array {
    const info = this.#info(name);
    const bytes = Buffer.allocUnsafe(info.end - info.begin);
    this.#readInto(info, bytes);
    return decodeTensor(bytes, info.dtype, `${this.path}: tensor "${name}"`);
  }

  /**
   * Reads a 16-bit float tensor (F16 or BF16) as its raw bit patterns, without conversion: what a
   * device of the same dtype takes as is.
   * @param name the tensor's name
   * @returns its elements' bits, row-major (little-endian, as stored)
   * @throws ModelLoadError when the tensor is absent or not F16/BF16
   */
  readRaw16(name: string): Uint16Array {
    const info = this.#info(name);
    if (info.dtype !== 'F16' && info.dtype !== 'BF16') throw bad(this.path, `tensor "${name}" is ${info.dtype}, not F16 or BF16`);
    const out = new Uint16Array((info.end - info.begin) / 2);
    this.#readInto(info, new Uint8Array(out.buffer));
    return out;
  }

  #info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw bad(this.path, `has no tensor "${name}"`);
    if (this.fd === null) throw bad(this.path, 'was closed');
    return info;
  }

  #readInto(info: TensorInfo, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(this.fd!, bytes, done, bytes.length - done, info.begin + done);
      if (got === 0) throw bad(this.path, `ended while reading tensor "${info.name}"`);
      done += got;
    }
  }

  /** Releases the file descriptor. Idempotent. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function bad(source: string, what: string, options: { cause?: unknown } = {}): ModelLoadError {
  return new ModelLoadError('model_load_failed', `safetensors file ${source}: ${what}`, options);
}
