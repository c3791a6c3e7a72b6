import { readFixture } from '@vllm-ts/fixtures';
import { parseTokenizerJson } from '../src/internal/tokenizer-json.ts';
import { TokenTable } from '../src/internal/token-table.ts';
import { PairTable } from '../src/internal/pair-table.ts';
import { TokenDecoder } from '../src/internal/decoder.ts';
import { AddedVocabulary } from '../src/internal/added-vocabulary.ts';
import { compilePreTokenizer } from '../src/internal/pre-tokenizer.ts';
const text = readFixture(`tokenizers/o200k/tokenizer.json`).toString('utf8');
const T: Record<string, number[]> = {};
const tm = <X>(k: string, f: () => X): X => { const t = performance.now(); const x = f(); (T[k] ??= []).push(performance.now() - t); return x; };
for (let i = 0; i < 5; i++) {
  const p = tm('parse', () => parseTokenizerJson(text));
  const { idToToken, merges } = p.tables!;
  const tt = tm('tokentable', () => new TokenTable(idToToken));
  tm('merges', () => { const pt = new PairTable(merges.length / 2); for (let r = 0; r < merges.length / 2; r++) { const a = merges[2*r]!, b = merges[2*r+1]!; pt.set(tt.get(a), tt.get(b), r, tt.getConcat(a, b)); } });
  tm('pre', () => compilePreTokenizer(p.json.pre_tokenizer));
  tm('added', () => new AddedVocabulary(p.json.added_tokens, null));
  tm('decoder', () => new TokenDecoder(p.json.decoder, idToToken.slice()));
}
for (const [k, v] of Object.entries(T)) console.log(k, v.map((x) => x.toFixed(0)).join(' '));
