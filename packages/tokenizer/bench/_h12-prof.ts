import { readFixture } from '@vllm-ts/fixtures';
import { Tokenizer } from '../src/index.ts';
const text = readFixture(`tokenizers/o200k/tokenizer.json`).toString('utf8');
for (let i = 0; i < 4; i++) { Tokenizer.fromJSON(text); Tokenizer.fromJSON(JSON.parse(text)); }
