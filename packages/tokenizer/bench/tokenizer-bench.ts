// Encode/decode throughput, load time and memory of @vllm-ts/tokenizer against the JavaScript tokenizers that
// support the same tokenizer, measured in one process on one corpus. Run: npm run bench (in this package).
// Prints a table last and writes bench/results.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { texts, tokenizerFixtureDir } from '@vllm-ts/fixtures';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import { Tokenizer } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');

/** Corpus: the fixtures' 3000 documents (prose, code, CJK, edge cases), repeated to several MB. */
const DOCS = texts();
const REPEAT = Number(process.env.BENCH_REPEAT ?? 6);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CORPUS = Array.from({ length: REPEAT }, () => DOCS).flat();
const utf8 = new TextEncoder();
const CORPUS_SIZES = CORPUS.map((d) => utf8.encode(d).length);
const CORPUS_BYTES = CORPUS_SIZES.reduce((n, b) => n + b, 0);
const PASS_MS = Number(process.env.BENCH_PASS_MS ?? 8000);

interface Subject {
  readonly library: string;
  encode(text: string): ArrayLike<number>;
  decode(ids: number[]): string;
  free?(): void;
}

interface Row {
  tokenizer: string;
  library: string;
  encodeMBs: number;
  decodeMBs: number;
  encodeWallMBs: number;
  decodeWallMBs: number;
  loadMs: number;
  loadCpuMs: number;
  heapMB: number;
  rssMB: number;
  agreeWithOurs: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function memory(): { heap: number; rss: number } {
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

async function measureLoad(make: () => Subject | Promise<Subject>): Promise<{ subject: Subject; loadMs: number; loadCpuMs: number; heapMB: number; rssMB: number }> {
  const before = memory();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const subject = await make();
  const loadMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const after = memory();
  return { subject, loadMs, loadCpuMs: (c.user + c.system) / 1000, heapMB: (after.heap - before.heap) / 2 ** 20, rssMB: (after.rss - before.rss) / 2 ** 20 };
}

interface Rate {
  /** MB per second of this process's CPU time (robust when other jobs share the machine). */
  cpu: number;
  /** MB per wall-clock second. */
  wall: number;
}

/** One pass: documents in order until the corpus ends or `budgetMs` passes. */
function pass(items: readonly unknown[], bytes: readonly number[], budgetMs: number, run: (item: never) => unknown): Rate {
  let done = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < items.length; i++) {
    run(items[i] as never);
    done += bytes[i]!;
    if ((i & 63) === 63 && performance.now() - t0 > budgetMs) break;
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return { cpu: done / 1e6 / cpu, wall: done / 1e6 / wall };
}

function throughput(subject: Subject): { encodeMBs: number; decodeMBs: number; encodeWallMBs: number; decodeWallMBs: number } {
  const ids: number[][] = [];
  const outBytes: number[] = [];
  for (const d of DOCS) {
    const x = Array.from(subject.encode(d));
    ids.push(x);
    outBytes.push(utf8.encode(subject.decode(x)).length);
  }
  const allIds = Array.from({ length: REPEAT }, () => ids).flat();
  const allOut = Array.from({ length: REPEAT }, () => outBytes).flat();
  const enc: Rate[] = [];
  const dec: Rate[] = [];
  // The first pass above warmed caches and the JIT; a slow peer's passes stop after PASS_MS.
  for (let r = 0; r < RUNS; r++) {
    enc.push(pass(CORPUS, CORPUS_SIZES, PASS_MS, (d: string) => subject.encode(d)));
    dec.push(pass(allIds, allOut, PASS_MS, (x: number[]) => subject.decode(x)));
  }
  return {
    encodeMBs: median(enc.map((r) => r.cpu)),
    decodeMBs: median(dec.map((r) => r.cpu)),
    encodeWallMBs: median(enc.map((r) => r.wall)),
    decodeWallMBs: median(dec.map((r) => r.wall)),
  };
}

function agreement(subject: Subject, ours: Subject): string {
  let same = 0;
  for (const d of DOCS) {
    const a = Array.from(subject.encode(d));
    const b = Array.from(ours.encode(d));
    if (a.length === b.length && a.every((x, i) => x === b[i])) same++;
  }
  return `${same}/${DOCS.length}`;
}

function ourSubject(dir: string): () => Promise<Subject> {
  return async () => {
    const tok = await Tokenizer.fromDirectory(dir);
    return { library: '@vllm-ts/tokenizer', encode: (t) => tok.encode(t, { addSpecialTokens: false }), decode: (ids) => tok.decode(ids) };
  };
}

function hfSubject(dir: string): () => Subject {
  return () => {
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    const tok = new HfTokenizer(json, config);
    return {
      library: '@huggingface/tokenizers',
      encode: (t) => tok.encode(t, { add_special_tokens: false }).ids,
      decode: (ids) => tok.decode(ids, { clean_up_tokenization_spaces: false }),
    };
  };
}

function tiktokenSubject(name: 'gpt2' | 'o200k_base'): () => Subject {
  return () => {
    const enc = get_encoding(name);
    const dec = new TextDecoder('utf-8', { ignoreBOM: true });
    return { library: 'tiktoken (WASM)', encode: (t) => enc.encode_ordinary(t), decode: (ids) => dec.decode(enc.decode(Uint32Array.from(ids))), free: () => enc.free() };
  };
}

function jsTiktokenSubject(name: 'gpt2' | 'o200k_base'): () => Subject {
  return () => {
    const enc = getEncoding(name);
    return { library: 'js-tiktoken', encode: (t) => enc.encode(t, [], []), decode: (ids) => enc.decode(ids) };
  };
}

function gptTokenizerSubject(module: 'r50k_base' | 'o200k_base'): () => Promise<Subject> {
  return async () => {
    const api = (await import(`gpt-tokenizer/encoding/${module}`)) as {
      encode(t: string, o: object): number[];
      decode(ids: number[]): string;
    };
    const options = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
    return { library: 'gpt-tokenizer', encode: (t) => api.encode(t, options), decode: (ids) => api.decode(ids) };
  };
}

const PLAN: [string, string, (() => Subject | Promise<Subject>)[]][] = [
  ['gpt2', 'gpt2', [hfSubject(tokenizerFixtureDir('gpt2')), tiktokenSubject('gpt2'), jsTiktokenSubject('gpt2'), gptTokenizerSubject('r50k_base')]],
  ['o200k', 'o200k', [hfSubject(tokenizerFixtureDir('o200k')), tiktokenSubject('o200k_base'), jsTiktokenSubject('o200k_base'), gptTokenizerSubject('o200k_base')]],
  ['Llama 2 layout (Mistral 7B)', 'real-mistral', [hfSubject(tokenizerFixtureDir('real-mistral'))]],
  ['Llama 3', 'real-llama3', [hfSubject(tokenizerFixtureDir('real-llama3'))]],
  ['Qwen3', 'real-qwen3', [hfSubject(tokenizerFixtureDir('real-qwen3'))]],
];

const only = process.env.BENCH_ONLY?.split(',');
const rows: Row[] = [];
for (const [label, fixture, peers] of PLAN) {
  if (only && !only.includes(fixture)) continue;
  const oursLoaded = await measureLoad(ourSubject(tokenizerFixtureDir(fixture)));
  const ours = oursLoaded.subject;
  for (const [i, make] of [ourSubject(tokenizerFixtureDir(fixture)), ...peers].entries()) {
    const loaded = i === 0 ? oursLoaded : await measureLoad(make);
    const rates = throughput(loaded.subject);
    const row: Row = {
      tokenizer: label,
      library: loaded.subject.library,
      ...rates,
      loadMs: loaded.loadMs,
      loadCpuMs: loaded.loadCpuMs,
      heapMB: loaded.heapMB,
      rssMB: loaded.rssMB,
      agreeWithOurs: i === 0 ? '-' : agreement(loaded.subject, ours),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    loaded.subject.free?.();
  }
}

const environment = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavg: loadavg(),
  corpusBytes: CORPUS_BYTES,
  documents: CORPUS.length,
  runs: RUNS,
  passBudgetMs: PASS_MS,
  note: 'single thread; MB/s per CPU-second of this process (wall-clock rates in *WallMBs); medians of runs after one warm-up pass (per-piece caches warm); a pass stops after passBudgetMs (slow peers); the machine was shared with other jobs',
};
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify({ environment, rows }, null, 2)}\n`);

const header = ['tokenizer', 'library', 'encode MB/s', 'decode MB/s', 'load CPU ms', 'heap+ext MB', 'RSS MB', 'same ids'];
const table = rows.map((r) => [r.tokenizer, r.library, r.encodeMBs.toFixed(2), r.decodeMBs.toFixed(1), r.loadCpuMs.toFixed(0), r.heapMB.toFixed(0), r.rssMB.toFixed(0), r.agreeWithOurs]);
const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
console.log(`\nMB/s per CPU-second, single thread; corpus ${(CORPUS_BYTES / 1e6).toFixed(2)} MB (${CORPUS.length} documents), ${RUNS} runs (each at most ${PASS_MS} ms), node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of table) console.log(line(row));
