// Load time of @vllm-ts/tokenizer against @huggingface/tokenizers, in one process on the same files.
// Run: npm run bench:load (in this package). Prints a table last and writes bench/load-results.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { tokenizerFixtureDir } from '@vllm-ts/fixtures';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:load does)');

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const FIXTURES: readonly [string, string][] = [
  ['gpt2', 'gpt2'],
  ['o200k', 'o200k'],
  ['Llama 2 layout (Mistral 7B)', 'real-mistral'],
  ['Llama 3', 'real-llama3'],
  ['Qwen3', 'real-qwen3'],
];

interface Sample {
  wallMs: number;
  cpuMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall and CPU time of `RUNS` loads, each after a full GC, keeping only the latest result alive. */
async function measure(load: () => unknown): Promise<Sample> {
  const wall: number[] = [];
  const cpu: number[] = [];
  let kept: unknown = null;
  for (let r = 0; r < RUNS; r++) {
    kept = null;
    gc!();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    kept = await load();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  if (kept === null) throw new Error('nothing loaded');
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

const rows: { tokenizer: string; way: string; wallMs: number; cpuMs: number }[] = [];
for (const [label, fixture] of FIXTURES) {
  const dir = tokenizerFixtureDir(fixture);
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  const ways: [string, () => unknown][] = [
    ['@vllm-ts/tokenizer: fromDirectory (read + parse + build)', () => Tokenizer.fromDirectory(dir)],
    ['@vllm-ts/tokenizer: fromJSON(JSON.parse(text))', () => Tokenizer.fromJSON(JSON.parse(read('tokenizer.json')))],
    ['@huggingface/tokenizers: JSON.parse + constructor', () => new HfTokenizer(JSON.parse(read('tokenizer.json')), JSON.parse(read('tokenizer_config.json')))],
  ];
  for (const [way, load] of ways) {
    const s = await measure(load);
    rows.push({ tokenizer: label, way, ...s });
    console.log(`${label} | ${way}: ${s.wallMs.toFixed(0)} ms wall, ${s.cpuMs.toFixed(0)} ms CPU`);
  }
}

writeFileSync(
  new URL('./load-results.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, loadavg: loadavg(), runs: RUNS, rows }, null, 2)}\n`,
);
const header = ['tokenizer', 'how', 'wall ms (median)', 'CPU ms (median)'];
const table = rows.map((r) => [r.tokenizer, r.way, r.wallMs.toFixed(0), r.cpuMs.toFixed(0)]);
console.log(`\nmedians of ${RUNS} loads, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const row of table) console.log(`| ${row.join(' | ')} |`);
