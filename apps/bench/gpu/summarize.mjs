#!/usr/bin/env node
// Prints the GPU benchmark table from the JSON files run-on-device.sh wrote into the folder given:
// ours (vllm-ts-bench latency/throughput) beside the transformers peer of the same run, with the
// ratio, and the batch-1 floor (weight bytes over the copy bandwidth measured on this GPU kind).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.';
const read = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
const lat = read('ours-latency-b1.json');
const latAsync = read('ours-latency-b1-async.json');
const tp = read('ours-throughput.json');
const dh = read('ours-decode-heavy.json');
const dhAsync = read('ours-decode-heavy-async.json');
const peer = read('transformers-peer.json');
const sec = (name) => (peer?.sections?.[name]?.status === 'ok' ? peer.sections[name] : null);
// Llama-3.1-8B in bf16: 8.03e9 parameters x 2 bytes; 4.26 TB/s copy bandwidth (packages/cuda/GPU-RESULTS.md).
const WEIGHT_BYTES = 16.06e9;
const COPY_BPS = 4.26e12;
const floorMs = (WEIGHT_BYTES / COPY_BPS) * 1e3;

const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
const rows = [];
const pl = sec('latency');
const oursTpot = lat?.tpotMs?.median ?? null;
const peerTpot = pl?.decode_ms_per_token?.median ?? null;
rows.push(['batch-1 decode, ms/token (1,024-token prompt)', fmt(oursTpot, 2), fmt(peerTpot, 2), ratio(peerTpot, oursTpot), `floor ${fmt(floorMs, 2)} ms: ${oursTpot ? ((floorMs / oursTpot) * 100).toFixed(0) : '-'}%`]);
const asyncTpot = latAsync?.tpotMs?.median ?? null;
if (latAsync) rows.push(['  same, --async-scheduling', fmt(asyncTpot, 2), fmt(peerTpot, 2), ratio(peerTpot, asyncTpot), `floor ${fmt(floorMs, 2)} ms: ${asyncTpot ? ((floorMs / asyncTpot) * 100).toFixed(0) : '-'}%`]);
rows.push(['batch-1 request 1,024 in / 128 out, s', fmt(lat?.latencyS?.median, 3), fmt(pl?.estimated_request_latency_s?.seconds, 3), ratio(pl?.estimated_request_latency_s?.seconds, lat?.latencyS?.median), 'peer: prefill + 127 decode medians']);
const pt = sec('throughput');
rows.push([`offline ${tp?.numRequests ?? '?'} x 1,024 in / 128 out, output tok/s`, fmt(tp?.outputThroughput, 0), fmt(pt?.output_tokens_per_s, 0), ratio(tp?.outputThroughput, pt?.output_tokens_per_s), `peer: ${pt?.num_prompts_run ?? '?'} prompts, batch ${pt?.batch_size ?? '?'}`]);
rows.push(['  same, total tok/s', fmt(tp?.totalTokenThroughput, 0), fmt(pt?.total_tokens_per_s, 0), ratio(tp?.totalTokenThroughput, pt?.total_tokens_per_s), '']);
const pd = sec('decode-heavy');
rows.push([`decode-heavy ${dh?.numRequests ?? '?'} x 32 in / ${dh ? Math.round(dh.outputTokens / dh.numRequests) : '?'} out, output tok/s`, fmt(dh?.outputThroughput, 0), fmt(pd?.output_tokens_per_s, 0), ratio(dh?.outputThroughput, pd?.output_tokens_per_s), `peer: ${pd?.output_len_run ?? '?'} out (truncated)`]);

if (dhAsync) rows.push(['  same, --async-scheduling', fmt(dhAsync.outputThroughput, 0), fmt(pd?.output_tokens_per_s, 0), ratio(dhAsync.outputThroughput, pd?.output_tokens_per_s), '']);

const head = ['Llama-3.1-8B shape, bf16, dummy weights', 'vllm-ts', 'transformers', 'ratio', 'notes'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(`GPU: ${existsSync(join(dir, 'gpu.txt')) ? readFileSync(join(dir, 'gpu.txt'), 'utf8').trim() : '?'}; date ${new Date().toISOString()}`);
if (peer?.environment) console.log(`peer: torch ${peer.environment.torch ?? '?'}, transformers ${peer.environment.transformers ?? '?'}`);
console.log(line(head));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
