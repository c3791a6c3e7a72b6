import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFixtureDir } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { readModelConfig } from '../model/model-config.js';
import { dummyWeights, loadModelWeights } from './model-weights.js';
import { SafetensorsFile } from './safetensors.js';

const SRC = modelFixtureDir('tiny-llama');

interface RawTensor {
  name: string;
  dtype: string;
  shape: readonly number[];
  bytes: Buffer;
}

/** Bitwise equality of float arrays (vitest's deep equality is slow on large typed arrays). */
function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function rawTensors(path: string): RawTensor[] {
  const st = SafetensorsFile.open(path);
  const file = readFileSync(path);
  const out = [...st.header.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: file.subarray(t.begin, t.end) }));
  st.close();
  return out;
}

function writeSafetensors(path: string, tensors: RawTensor[]): void {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...tensors.map((t) => t.bytes)]));
}

function folderWith(tensors: RawTensor[], shards: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'vllm-ts-weights-'));
  copyFileSync(join(SRC, 'config.json'), join(dir, 'config.json'));
  if (shards === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    return dir;
  }
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const name = `model-0000${s + 1}-of-0000${shards}.safetensors`;
    const part = tensors.filter((_, i) => i % shards === s);
    for (const t of part) weightMap[t.name] = name;
    writeSafetensors(join(dir, name), part);
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}

describe('loadModelWeights', () => {
  const config = readModelConfig(SRC);
  const tensors = rawTensors(join(SRC, 'model.safetensors'));
  const reference = loadModelWeights(SRC, config);

  it('loads a sharded checkpoint (index.json + 3 shards) to the same weights, reporting progress', () => {
    const progress: [number, number][] = [];
    const sharded = loadModelWeights(folderWith(tensors, 3), config, { onLoadProgress: (a, b) => progress.push([a, b]) });
    expect(same(sharded.embed, reference.embed)).toBe(true);
    expect(same(sharded.lmHead, reference.lmHead)).toBe(true);
    sharded.layers.forEach((l, i) => {
      expect(same(l.qkv, reference.layers[i]!.qkv)).toBe(true);
      expect(same(l.gateUp, reference.layers[i]!.gateUp)).toBe(true);
    });
    const total = tensors.reduce((a, t) => a + t.bytes.length, 0);
    expect(progress.at(-1)).toEqual([total, total]);
    expect(progress.every(([a], i) => i === 0 || a > progress[i - 1]![0])).toBe(true);
  });

  it('names a missing tensor and a shape that disagrees with config.json', () => {
    const missing = tensors.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight');
    expect(() => loadModelWeights(folderWith(missing, 1), config)).toThrow(/no tensor "model.layers.1.mlp.up_proj.weight"/);
    const wrong = tensors.map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [32, 2] } : t));
    expect(() => loadModelWeights(folderWith(wrong, 1), config)).toThrow(/"model.norm.weight" has shape \[32, 2\] but config.json implies \[64\]/);
  });

  it('refuses a folder without weights and a broken index', () => {
    const empty = mkdtempSync(join(tmpdir(), 'vllm-ts-empty-'));
    expect(() => loadModelWeights(empty, config)).toThrow(/no model.safetensors/);
    const dir = folderWith(tensors, 2);
    writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": 3');
    expect(() => loadModelWeights(dir, config)).toThrow(/is not valid JSON/);
  });

  it('dummy weights: configured shapes, deterministic per seed, needing no weight files', () => {
    const a = dummyWeights(config, 1);
    const b = loadModelWeights(mkdtempSync(join(tmpdir(), 'vllm-ts-dummy-')), config, { loadFormat: 'dummy', seed: 1 });
    expect(a.embed.length).toBe(config.vocabSize * config.hiddenSize);
    expect(a.layers).toHaveLength(config.numLayers);
    expect(same(a.embed, b.embed)).toBe(true);
    expect(same(dummyWeights(config, 2).embed, a.embed)).toBe(false);
    expect(Array.from(a.norm).every((x) => x === 1)).toBe(true);
    const bound = 1 / Math.sqrt(config.hiddenSize);
    expect(a.layers[0]!.qkv.every((x) => Math.abs(x) <= bound)).toBe(true);
  });
});
