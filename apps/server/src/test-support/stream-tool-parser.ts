// Test helpers for the tool parsers: stream a text in pieces and compare with the whole-text parse.
import type { StreamingDelta, ToolParser } from '../tool-parsers/tool-parser.js';

/** What a stream released, reassembled as a client would. */
export interface Reassembled {
  content: string;
  calls: { id: string; name: string; arguments: string }[];
  /** Kinds of the deltas in order: `c` content, `n` call head (id + name), `a` arguments. */
  shape: string;
  /** The parser's verdict at the end. */
  malformed: boolean;
}

/**
 * Feeds `pieces` to a fresh stream of `parser` and reassembles what it releases, checking the
 * delta invariants on the way: heads numbered 0, 1, ... in order, each before its fragments, no
 * empty fragment, fragments only for the latest call, and `numToolCalls` equal to the heads seen.
 * @param parser the parser
 * @param pieces the output, split as the engine would stream it
 * @returns the reassembled output
 */
export function streamPieces(parser: ToolParser, pieces: readonly string[]): Reassembled {
  const stream = parser.createStream();
  const deltas: StreamingDelta[] = [];
  for (const p of pieces) deltas.push(...stream.push(p));
  deltas.push(...stream.finish());
  const out: Reassembled = { content: '', calls: [], shape: '', malformed: stream.malformed };
  for (const d of deltas) {
    if ('content' in d) {
      if (d.content === '') throw new Error('empty content delta');
      out.content += d.content;
      out.shape += 'c';
      continue;
    }
    const t = d.toolCall;
    if (t.id !== undefined) {
      if (t.index !== out.calls.length || t.type !== 'function' || t.function.name === undefined || t.function.arguments !== '') throw new Error(`bad call head ${JSON.stringify(t)}`);
      out.calls.push({ id: t.id, name: t.function.name, arguments: '' });
      out.shape += 'n';
    } else {
      if (t.index !== out.calls.length - 1) throw new Error(`arguments for call ${t.index} while call ${out.calls.length - 1} is the latest`);
      if (t.function.arguments === '' || t.function.name !== undefined) throw new Error(`bad fragment ${JSON.stringify(t)}`);
      out.calls[t.index]!.arguments += t.function.arguments;
      out.shape += 'a';
    }
  }
  if (stream.numToolCalls !== out.calls.length) throw new Error('numToolCalls disagrees with the deltas');
  return out;
}

/**
 * Feeds `text` to a fresh stream of `parser` in pieces of `size` characters and reassembles it.
 * @param parser the parser
 * @param text the whole output
 * @param size characters per push
 * @returns the reassembled output
 */
export function streamIn(parser: ToolParser, text: string, size: number): Reassembled {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return streamPieces(parser, pieces);
}

/** Ways to split `text`: every fixed piece size, then `random` seeded random splits. */
function* splits(text: string, random = 40): Generator<string[]> {
  for (let size = 1; size <= Math.max(1, text.length); size++) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
    yield pieces;
  }
  let seed = text.length + 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let k = 0; k < random; k++) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; ) {
      const n = 1 + (next() % 9);
      pieces.push(text.slice(i, i + n));
      i += n;
    }
    yield pieces;
  }
}

const comparable = (r: Reassembled) => JSON.stringify({ content: r.content, calls: r.calls.map((c) => ({ name: c.name, arguments: c.arguments })), malformed: r.malformed });

/**
 * Streams `text` split in many ways (every piece size, and random splits) and checks that every
 * split releases the same content and calls (ids aside) as the text pushed in one piece.
 * @param parser the parser
 * @param text the whole output
 * @returns what the one-piece stream released
 */
export function streamSameAtEverySplit(parser: ToolParser, text: string): Reassembled {
  const whole = streamPieces(parser, [text]);
  for (const pieces of splits(text)) {
    const got = streamPieces(parser, pieces);
    if (comparable(got) !== comparable(whole)) throw new Error(`split ${JSON.stringify(pieces)}: streamed ${comparable(got)}, in one piece ${comparable(whole)}`);
  }
  return whole;
}

/**
 * For output that keeps the format (or breaks it before any call is released): every split of
 * `text` streams exactly the content and calls (ids aside) of the whole-text extraction.
 * @param parser the parser
 * @param text the whole output
 * @returns the extraction, ids aside
 */
export function streamAgreesWithExtract(parser: ToolParser, text: string): { content: string | null; calls: { name: string; arguments: string }[] } {
  const whole = parser.extractToolCalls(text);
  const calls = whole.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }));
  const streamed = streamSameAtEverySplit(parser, text);
  const expected = JSON.stringify({ content: whole.content ?? '', calls });
  const actual = JSON.stringify({ content: streamed.content, calls: streamed.calls.map((c) => ({ name: c.name, arguments: c.arguments })) });
  if (actual !== expected) throw new Error(`streamed ${actual}, whole ${expected}`);
  return { content: whole.content, calls };
}
