// Test helpers for the tool parsers: stream a text in pieces and compare with the whole-text parse.
import type { StreamingDelta, ToolParser } from '../tool-parsers/tool-parser.js';

/** What a stream released, reassembled as a client would. */
export interface Reassembled {
  content: string;
  calls: { id: string; name: string; arguments: string }[];
  /** Kinds of the deltas in order: `c` content, `n` call head (id + name), `a` arguments. */
  shape: string;
}

/**
 * Feeds `text` to a fresh stream of `parser` in pieces of `size` characters and reassembles it.
 * @param parser the parser
 * @param text the whole output
 * @param size characters per push
 * @returns the reassembled output
 */
export function streamIn(parser: ToolParser, text: string, size: number): Reassembled {
  const stream = parser.createStream();
  const deltas: StreamingDelta[] = [];
  for (let i = 0; i < text.length; i += size) deltas.push(...stream.push(text.slice(i, i + size)));
  deltas.push(...stream.finish());
  const out: Reassembled = { content: '', calls: [], shape: '' };
  for (const d of deltas) {
    if ('content' in d) {
      out.content += d.content;
      out.shape += 'c';
      continue;
    }
    const t = d.toolCall;
    if (t.id !== undefined) {
      if (t.index !== out.calls.length || t.type !== 'function' || t.function.name === undefined) throw new Error(`bad call head ${JSON.stringify(t)}`);
      out.calls.push({ id: t.id, name: t.function.name, arguments: t.function.arguments });
      out.shape += 'n';
    } else {
      const call = out.calls[t.index];
      if (call === undefined) throw new Error(`arguments before the head of call ${t.index}`);
      call.arguments += t.function.arguments;
      out.shape += 'a';
    }
  }
  if (stream.numToolCalls !== out.calls.length) throw new Error('numToolCalls disagrees with the deltas');
  return out;
}

/**
 * The stream of `text` in every piece size from 1 to its length, checked equal to the whole-text
 * extraction (content and calls; ids aside) and returned for size 1.
 * @param parser the parser
 * @param text the whole output
 * @returns the reassembled output of one-character pushes
 */
export function streamAgreesWithExtract(parser: ToolParser, text: string): { content: string | null; calls: { name: string; arguments: string }[] } {
  const whole = parser.extractToolCalls(text);
  const expected = { content: whole.content ?? '', calls: whole.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })) };
  for (let size = 1; size <= Math.max(1, text.length); size++) {
    const got = streamIn(parser, text, size);
    const actual = { content: got.content, calls: got.calls.map((c) => ({ name: c.name, arguments: c.arguments })) };
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(`pieces of ${size}: streamed ${JSON.stringify(actual)}, whole ${JSON.stringify(expected)}`);
    }
  }
  return { content: whole.content, calls: expected.calls };
}
