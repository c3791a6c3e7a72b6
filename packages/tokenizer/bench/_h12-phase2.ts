import { readFixture } from '@vllm-ts/fixtures';
import { parseTokenizerJson } from '../src/internal/tokenizer-json.ts';
import { TokenTable } from '../src/internal/token-table.ts';
const text = readFixture(`tokenizers/o200k/tokenizer.json`).toString('utf8');
const p = parseTokenizerJson(text);
const { idToToken, merges } = p.tables!;
console.log('len', idToToken.length, merges.length/2);
// @ts-ignore
console.log('dict', eval('%HasDictionaryElements(idToToken)'), eval('%HasHoleyElements(idToToken)'));
const packed = Array.from(idToToken);
const flat = merges.map(s => s.length ? (s + ' ').slice(0, -1) : s);
for (let i = 0; i < 3; i++) {
  for (const [name, toks] of [['orig', idToToken], ['packed', packed]] as const) {
    const tt = new TokenTable(toks);
    let t = performance.now(); let s = 0;
    for (let r = 0; r < merges.length; r++) s += tt.get(merges[r]!);
    const a = performance.now() - t; t = performance.now();
    for (let r = 0; r < merges.length; r++) s += tt.get(flat[r]!);
    const b = performance.now() - t; t = performance.now();
    for (let r = 0; r < merges.length; r += 2) s += tt.getConcat(merges[r]!, merges[r+1]!);
    console.log(name, 'get', a.toFixed(0), 'get(flat)', b.toFixed(0), 'concat', (performance.now() - t).toFixed(0), s);
  }
}
