import { readFixture } from '@vllm-ts/fixtures';
import { parseTokenizerJson } from '../src/internal/tokenizer-json.ts';
import { TokenTable } from '../src/internal/token-table.ts';
for (const name of ['o200k','real-llama3','real-qwen3','gpt2','real-llama2']) {
  let text: string; try { text = readFixture(`tokenizers/${name}/tokenizer.json`).toString('utf8'); } catch { continue; }
  const { idToToken, merges } = parseTokenizerJson(text).tables!;
  const tt = new TokenTable(idToToken);
  let prev = -2, hit = 0, n = merges.length / 2;
  for (let r = 0; r < n; r++) { const im = tt.getConcat(merges[2*r]!, merges[2*r+1]!); if (im === prev + 1) hit++; prev = im; }
  console.log(name, n, hit);
}
