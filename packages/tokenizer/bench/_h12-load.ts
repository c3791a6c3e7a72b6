import { readFixture } from '@vllm-ts/fixtures';
import { Tokenizer } from '../src/index.ts';
import { parseTokenizerJson } from '../src/internal/tokenizer-json.ts';
const names = (process.argv[2] ?? 'o200k,real-llama3,real-qwen3').split(',');
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1]!;
for (const name of names) {
  const text = readFixture(`tokenizers/${name}/tokenizer.json`).toString('utf8');
  const obj: number[] = [], str: number[] = [], parse: number[] = [], jp: number[] = [];
  let tok: Tokenizer | null = null;
  for (let i = 0; i < 5; i++) {
    let t = performance.now(); tok = Tokenizer.fromJSON(JSON.parse(text)); obj.push(performance.now() - t);
    t = performance.now(); tok = Tokenizer.fromJSON(text); str.push(performance.now() - t);
    t = performance.now(); parseTokenizerJson(text); parse.push(performance.now() - t);
    t = performance.now(); JSON.parse(text); jp.push(performance.now() - t);
  }
  console.log(name, 'fromJSON(JSON.parse):', median(obj).toFixed(0), 'fromJSON(text):', median(str).toFixed(0), 'parseTokenizerJson:', median(parse).toFixed(0), 'JSON.parse:', median(jp).toFixed(0), tok!.encode('hello world').length);
}
