import { readFixture, readJsonFixture } from '@vllm-ts/fixtures';
import { Tokenizer } from '../tokenizer.js';

// Test support (not part of the public surface). The package's test files run without isolation
// (vitest.config.ts), so each fixture tokenizer is built once per worker and shared by every file.
const loaded = new Map<string, Tokenizer>();

/**
 * The tokenizer of a `@vllm-ts/fixtures` tokenizer folder, with its `tokenizer_config.json`.
 * @param name the fixture name, e.g. `real-llama3`
 */
export function fixtureTokenizer(name: string): Tokenizer {
  let tok = loaded.get(name);
  if (tok === undefined) {
    const json = readFixture(`tokenizers/${name}/tokenizer.json`).toString('utf8');
    tok = Tokenizer.fromJSON(json, readJsonFixture(`tokenizers/${name}/tokenizer_config.json`));
    loaded.set(name, tok);
  }
  return tok;
}
