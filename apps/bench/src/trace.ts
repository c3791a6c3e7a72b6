import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@vllm-ts/core';
import type { BenchRequest } from './datasets.js';
import { SeededRandom } from './rng.js';

/** A request trace: the requests and when each arrived (seconds from the first). */
export interface Trace {
  readonly requests: BenchRequest[];
  readonly arrivals: number[];
}

/** Tokens per `hash_ids` entry in Mooncake-format traces. */
export const TRACE_HASH_BLOCK_TOKENS = 512;

/**
 * Reads a JSONL request trace. Each line holds `timestamp` (ms, Mooncake format) or `arrival_time`
 * (s); `input_length` or `prompt_token_ids`; `output_length`; and optionally `hash_ids`, the ids
 * of the prompt's 512-token blocks: lines sharing a hash id share those tokens, so prefix reuse in
 * the trace is reproduced exactly. Tokens not covered by hash ids are unique per line.
 * @param file the JSONL path
 * @param vocabSize token ids are drawn below this
 * @returns requests sorted by arrival, arrivals shifted so the first is 0
 * @throws InvalidArgumentError `invalid_trace` naming the line that lacks a field
 */
export function readTrace(file: string, vocabSize = 32000): Trace {
  const rows: { at: number; req: BenchRequest }[] = [];
  const rng = new SeededRandom(1);
  const blockTokens = new Map<number, number[]>();
  const blockOf = (h: number): number[] => {
    let b = blockTokens.get(h);
    if (b === undefined) {
      const r = new SeededRandom(h * 7919 + 17);
      b = Array.from({ length: TRACE_HASH_BLOCK_TOKENS }, () => r.int(16, vocabSize - 1));
      blockTokens.set(h, b);
    }
    return b;
  };
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const bad = (what: string, got: unknown): never => {
      throw new InvalidArgumentError('invalid_trace', file, `line ${i + 1}`, what, got);
    };
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return bad('a JSON object', line.slice(0, 80));
    }
    const at = typeof row.timestamp === 'number' ? row.timestamp / 1000 : typeof row.arrival_time === 'number' ? row.arrival_time : bad('"timestamp" (ms) or "arrival_time" (s)', row);
    const outputLen = typeof row.output_length === 'number' && row.output_length >= 1 ? Math.floor(row.output_length) : bad('"output_length" >= 1', row.output_length);
    let ids: number[];
    if (Array.isArray(row.prompt_token_ids)) {
      ids = row.prompt_token_ids as number[];
    } else {
      const len = typeof row.input_length === 'number' && row.input_length >= 1 ? Math.floor(row.input_length) : bad('"input_length" >= 1 or "prompt_token_ids"', row.input_length);
      ids = [];
      for (const h of Array.isArray(row.hash_ids) ? (row.hash_ids as number[]) : []) {
        if (ids.length >= len) break;
        ids.push(...blockOf(h).slice(0, len - ids.length));
      }
      while (ids.length < len) ids.push(rng.int(16, vocabSize - 1));
    }
    rows.push({ at, req: { promptTokenIds: ids, outputLen } });
  });
  rows.sort((a, b) => a.at - b.at);
  const t0 = rows[0]?.at ?? 0;
  return { requests: rows.map((r) => r.req), arrivals: rows.map((r) => r.at - t0) };
}
