// Checks that a config-only model folder here loads the way `--load-format dummy` needs it to: the
// engine's config reader resolves the expected Llama-3.1-8B shape and the tokenizer opens and
// round-trips text. Exits 1 with the mismatches listed otherwise. Run from the repository root after
// `sh apps/bench/gpu/prepare.sh`:
//   npx tsx --conditions=@vllm-ts/source apps/bench/gpu/check-model-folder.ts [folder]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelConfig } from '@vllm-ts/engine';
import { Tokenizer } from '@vllm-ts/tokenizer';

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'models', 'llama-3.1-8b');

// Llama-3.1-8B-Instruct as published by Meta; the GPU benchmarks assume exactly this shape.
const expected: Record<string, unknown> = {
  architecture: 'LlamaForCausalLM',
  hiddenSize: 4096,
  intermediateSize: 14336,
  numLayers: 32,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 128,
  vocabSize: 128256,
  rmsNormEps: 1e-5,
  maxPositionEmbeddings: 131072,
  maxModelLen: 131072,
  tieWordEmbeddings: false,
  dtype: 'bfloat16',
  bosTokenId: 128000,
  eosTokenIds: [128001, 128008, 128009],
  rope: { type: 'llama3', theta: 500000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192, rotaryDim: 128 },
};

const config = readModelConfig(dir) as unknown as Record<string, unknown>;
const problems: string[] = [];
for (const [key, want] of Object.entries(expected)) {
  const got = config[key];
  const same =
    want !== null && typeof want === 'object' && !Array.isArray(want)
      ? Object.entries(want).every(([k, v]) => (got as Record<string, unknown>)[k] === v)
      : JSON.stringify(got) === JSON.stringify(want);
  if (!same) problems.push(`${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

const tokenizer = await Tokenizer.fromDirectory(dir);
const text = 'Hello, world! The H200 decodes 8B tokens.';
const ids = tokenizer.encode(text);
// "Hello" and " world" are 9906 and 1917 in the Llama 3 vocabulary.
if (ids[0] !== 9906 || ids[2] !== 1917) problems.push(`tokenizer: "${text}" encoded to ${JSON.stringify(ids)}, expected 9906, 11, 1917, ...`);
const back = tokenizer.decode(ids);
if (back !== text) problems.push(`tokenizer: decode(encode(text)) gave ${JSON.stringify(back)}, expected ${JSON.stringify(text)}`);
if (tokenizer.vocabSize > (config.vocabSize as number)) problems.push(`tokenizer: ${tokenizer.vocabSize} tokens, more than the model's ${String(config.vocabSize)}`);

if (problems.length > 0) {
  console.error(`${dir}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${dir}: config and tokenizer OK (${tokenizer.vocabSize} tokenizer ids, model vocab ${String(config.vocabSize)}, maxModelLen ${String(config.maxModelLen)})`);
