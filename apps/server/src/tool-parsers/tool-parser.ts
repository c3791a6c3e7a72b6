import { randomUUID } from 'node:crypto';
import { ToolCallReader } from './tool-call-reader.js';

/** One function call the model made, in OpenAI's `tool_calls` terms. */
export interface ParsedToolCall {
  /** `chatcmpl-tool-<32 hex digits>`, as vLLM's. */
  readonly id: string;
  readonly name: string;
  /**
   * The arguments as the model wrote them: the text of its `arguments` (or `parameters`) value
   * verbatim, or the string that value decodes to when it is a JSON string; `{}` when absent.
   */
  readonly arguments: string;
}

/** What {@link ToolParser.extractToolCalls} found in a whole completion. */
export interface ExtractedToolCalls {
  /** Text outside the tool-call markup; null when there is none. */
  readonly content: string | null;
  /** Empty when the text holds no well-formed tool call (then `content` is the whole text). */
  readonly toolCalls: readonly ParsedToolCall[];
}

/**
 * One streamed piece of a tool call, in the shape of OpenAI's `delta.tool_calls[i]`: the first
 * piece of call `index` carries `id`, `type` and `name`; later ones carry argument fragments.
 */
export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly type?: 'function';
  readonly function: { readonly name?: string; readonly arguments: string };
}

/** What one {@link StreamingToolParser} step releases, in output order. */
export type StreamingDelta = { readonly content: string } | { readonly toolCall: ToolCallDelta };

/**
 * A parser's state over one streamed choice. Invariants: a call's head comes before its argument
 * fragments and calls are numbered 0, 1, ... in order; released text is never taken back; for
 * output that keeps the format, however it is split, the `content` pieces and the concatenated
 * `arguments` of call `i` equal what {@link ToolParser.extractToolCalls} gives for the whole output.
 */
export interface StreamingToolParser {
  /**
   * Feeds the next text delta.
   * @param text new output text
   * @returns what can be released now (text that may still turn into markup is held back)
   */
  push(text: string): StreamingDelta[];
  /**
   * Ends the stream: releases what was held back.
   * @returns the last deltas
   */
  finish(): StreamingDelta[];
  /** Tool calls released so far (heads sent). */
  readonly numToolCalls: number;
  /** Whether the output broke the format somewhere (then the whole-output parse is all content). */
  readonly malformed: boolean;
}

/** A model family's tool-call format (vLLM's `--tool-call-parser` choices). */
export interface ToolParser {
  /** The `--tool-call-parser` name. */
  readonly name: string;
  /**
   * Splits a whole completion into content and tool calls.
   * @param text the completion text
   * @returns the content and the calls; malformed markup stays in the content
   */
  extractToolCalls(text: string): ExtractedToolCalls;
  /**
   * A fresh streaming state for one choice.
   * @returns the state machine
   */
  createStream(): StreamingToolParser;
}

/**
 * A tool-call id like vLLM's.
 * @returns `chatcmpl-tool-` and 32 hex digits
 */
export function makeToolCallId(): string {
  return `chatcmpl-tool-${randomUUID().replaceAll('-', '')}`;
}

/**
 * One call being streamed: a {@link ToolCallReader} over its JSON object, releasing the call's head
 * (index, id, type, name, `arguments: ""`) as soon as the name is read, then every new piece of its
 * arguments text as it is read. Whatever was released stays released, even if the object breaks later.
 */
export class StreamedCall {
  readonly reader = new ToolCallReader();
  /** The call's position among the choice's calls. */
  readonly index: number;
  readonly #id = makeToolCallId();
  #headSent = false;

  /**
   * @param index the call's position among the choice's calls
   */
  constructor(index: number) {
    this.index = index;
  }

  /** Whether the head has been released (from then on the call counts, whatever follows). */
  get headSent(): boolean {
    return this.#headSent;
  }

  /**
   * Reads on and releases what became known.
   * @param text the next characters of the object (the first call starts at its `{`)
   * @param out where the deltas go
   * @returns how many characters of `text` the object took (see {@link ToolCallReader.feed})
   */
  feed(text: string, out: StreamingDelta[]): number {
    const used = this.reader.feed(text);
    const name = this.reader.name;
    if (name === null) return used;
    if (!this.#headSent) {
      out.push({ toolCall: { index: this.index, id: this.#id, type: 'function', function: { name, arguments: '' } } });
      this.#headSent = true;
    }
    const args = this.reader.takeArguments();
    if (args !== '') out.push({ toolCall: { index: this.index, function: { arguments: args } } });
    return used;
  }
}

/**
 * The whole-output parse every parser shares: the streaming parse of `text` in one piece, except that
 * output that broke the format anywhere is all content, as vLLM's non-streaming parsers return it.
 * Hence, for well-formed output, a stream split anywhere releases exactly these calls and content.
 * @param stream a fresh stream of the parser
 * @param text the whole completion
 * @returns the content and the calls
 */
function extractByStreaming(stream: StreamingToolParser, text: string): ExtractedToolCalls {
  const deltas = [...stream.push(text), ...stream.finish()];
  const toolCalls: { id: string; name: string; arguments: string }[] = [];
  let content = '';
  for (const d of deltas) {
    if ('content' in d) content += d.content;
    else if (d.toolCall.id !== undefined) toolCalls.push({ id: d.toolCall.id, name: d.toolCall.function.name ?? '', arguments: d.toolCall.function.arguments });
    else toolCalls[d.toolCall.index]!.arguments += d.toolCall.function.arguments;
  }
  if (stream.malformed || toolCalls.length === 0) return { content: text, toolCalls: [] };
  return { content: content === '' ? null : content, toolCalls };
}

/**
 * Length of the longest suffix of `text` that is a proper prefix of `marker` (text that may still
 * grow into the marker and must be held back).
 * @param text text so far
 * @param marker the markup to watch for
 * @returns how many trailing characters to hold
 */
export function partialMarkerLength(text: string, marker: string): number {
  for (let k = Math.min(marker.length - 1, text.length); k > 0; k--) if (text.endsWith(marker.slice(0, k))) return k;
  return 0;
}

/**
 * A parser whose whole-output parse is its streaming one run over the whole text, so streamed and
 * non-streamed replies agree by construction.
 * @param name the `--tool-call-parser` name
 * @param createStream makes a fresh streaming state
 * @returns the parser
 */
export function streamingToolParser(name: string, createStream: () => StreamingToolParser): ToolParser {
  return { name, extractToolCalls: (text) => extractByStreaming(createStream(), text), createStream };
}
