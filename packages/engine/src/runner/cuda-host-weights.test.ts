import { describe, expect, it } from 'vitest';
import { fromBfloat16Bits, fromFloat16Bits, type HostData, type LlamaConfig, type LlamaHostWeights } from '@vllm-ts/cuda';
import { modelFixtureDir } from '@vllm-ts/fixtures';
import { defaultModelDir } from '../config/default-model.js';
import { loadModelWeights, type ModelWeights } from '../loader/model-weights.js';
import { readModelConfig, type ModelConfig, type ModelDtype } from '../model/model-config.js';
import { toLlamaConfig } from './cuda-llama-config.js';
import { streamLlamaHostWeights } from './cuda-host-weights.js';

// Oracle: the CPU loader's float32 weights (rounded to the model dtype), split as LlamaForward takes them.
function fromLoader(config: ModelConfig, w: ModelWeights, llama: LlamaConfig): LlamaHostWeights {
  const H = config.hiddenSize;
  const qRows = config.numHeads * config.headDim;
  const kvRows = config.numKvHeads * config.headDim;
  return {
    embedTokens: w.embed,
    norm: w.norm,
    ...(config.tieWordEmbeddings ? {} : { lmHead: w.lmHead }),
    layers: w.layers.map((l) => ({
      inputLayernorm: l.inputNorm,
      qProj: l.qkv.subarray(0, qRows * H),
      kProj: l.qkv.subarray(qRows * H, (qRows + kvRows) * H),
      vProj: l.qkv.subarray((qRows + kvRows) * H),
      oProj: l.o,
      postAttentionLayernorm: l.postNorm,
      gateProj: l.gateUp.subarray(0, config.intermediateSize * H),
      upProj: l.gateUp.subarray(config.intermediateSize * H),
      downProj: l.down,
      ...(l.qNorm && l.kNorm ? { qNorm: l.qNorm, kNorm: l.kNorm } : {}),
      ...(llama.qkvBias && l.qkvBias
        ? { qBias: l.qkvBias.subarray(0, qRows), kBias: l.qkvBias.subarray(qRows, qRows + kvRows), vBias: l.qkvBias.subarray(qRows + kvRows) }
        : {}),
    })),
  };
}

function asFloats(d: HostData, dtype: ModelDtype): Float32Array {
  if (!(d instanceof Uint16Array)) return Float32Array.from(d);
  return dtype === 'bfloat16' ? fromBfloat16Bits(d) : fromFloat16Bits(d);
}

/** Index of the first element that differs (bitwise), -1 when equal; the length when sizes differ. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

describe('streamLlamaHostWeights', () => {
  const cases: [string, () => string, ModelDtype, boolean][] = [
    ['tiny-llama (BF16 file) as bfloat16: raw bits', () => modelFixtureDir('tiny-llama'), 'bfloat16', true],
    ['tiny-llama (BF16 file) as float32: converted', () => modelFixtureDir('tiny-llama'), 'float32', false],
    ['tiny-qwen2 (F16 file, q/k/v biases) as float16: raw bits', () => modelFixtureDir('tiny-qwen2'), 'float16', true],
    ['tiny-qwen2 (F16 file) as bfloat16: converted and rounded', () => modelFixtureDir('tiny-qwen2'), 'bfloat16', false],
    ['tiny-qwen3 (q/k norms, tied embeddings) as bfloat16', () => modelFixtureDir('tiny-qwen3'), 'bfloat16', true],
    ['the default model (BF16) as bfloat16', () => defaultModelDir(), 'bfloat16', true],
  ];
  for (const [label, dir, dtype, raw] of cases) {
    it(`${label}: every tensor equals the CPU loader's, each read once`, () => {
      const config = readModelConfig(dir(), { dtype });
      const llama = toLlamaConfig(config);
      const want = fromLoader(config, loadModelWeights(dir(), config), llama);
      const reads: number[] = [];
      const streamed = streamLlamaHostWeights(dir(), config, llama, (loaded) => reads.push(loaded));
      try {
        const got = streamed.weights;
        expect(Object.getOwnPropertyDescriptor(got, 'lmHead') !== undefined).toBe(!config.tieWordEmbeddings);
        expect(got.layers).toHaveLength(config.numLayers);
        const top = ['embedTokens', 'norm', ...(config.tieWordEmbeddings ? [] : ['lmHead'])] as const;
        const field = (w: LlamaHostWeights, k: string) => (w as unknown as Record<string, HostData>)[k]!;
        for (const k of top) expect(firstDifference(asFloats(field(got, k), dtype), asFloats(field(want, k), dtype)), k).toBe(-1);
        got.layers.forEach((layer, l) => {
          for (const k of Object.keys(want.layers[l]!) as (keyof typeof layer)[]) {
            const d = layer[k]!;
            if (k.endsWith('Proj')) expect(d instanceof Uint16Array, `layer ${l} ${k} raw`).toBe(raw);
            expect(firstDifference(asFloats(d, dtype), asFloats(want.layers[l]![k]!, dtype)), `layer ${l} ${k}`).toBe(-1);
          }
          expect(Object.keys(layer).sort()).toEqual(Object.keys(want.layers[l]!).sort());
        });
        // Each tensor was read once: progress ends exactly at the total.
        const total = reads.at(-1)!;
        expect(reads.length).toBe(new Set(reads).size);
        expect(total).toBeGreaterThan(0);
      } finally {
        streamed.close();
      }
    });
  }

  it('refuses a checkpoint that misses a tensor before reading anything', () => {
    const config = readModelConfig(modelFixtureDir('tiny-llama'), {});
    const broken = { ...config, numLayers: config.numLayers + 1 };
    expect(() => streamLlamaHostWeights(modelFixtureDir('tiny-llama'), broken, toLlamaConfig(broken))).toThrow(/model.layers.\d+.*required by/);
  });
});
