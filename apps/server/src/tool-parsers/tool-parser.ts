import { randomUUID } from 'node:crypto';

/** One function call the model made, in OpenAI's `tool_calls` terms. */
export interface ParsedToolCall {
  /** `chatcmpl-tool-<32 hex digits>`, as vLLM's. */
  readonly id: string;
  readonly name: string;
  /** The arguments as a JSON string (`JSON.stringify` of the model's arguments object). */
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
 * A parser's state over one streamed choice. Invariant: the concatenated `content` pieces never
 * contain markup of a well-formed call, and the concatenated `arguments` of call `i` equal the
 * `arguments` that {@link ToolParser.extractToolCalls} gives for it.
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
  /** Tool calls released so far. */
  readonly numToolCalls: number;
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
 * The call a parsed JSON value describes: an object with a string `name` and an `arguments` (or
 * `parameters`) value; arguments given as a string are taken to be JSON already.
 * @param value a parsed JSON value
 * @returns the call, or null when `value` is not one
 */
export function toolCallFromJson(value: unknown): ParsedToolCall | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (typeof o.name !== 'string') return null;
  const args = 'arguments' in o ? o.arguments : 'parameters' in o ? o.parameters : {};
  return { id: makeToolCallId(), name: o.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
}

/**
 * Parses JSON, or returns undefined instead of throwing.
 * @param text JSON text
 * @returns the value, or undefined when `text` is not JSON
 */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The two deltas that stream one call: its name (with id and type), then its arguments.
 * @param index the call's position in the choice
 * @param call the call
 * @returns the deltas
 */
export function toolCallDeltas(index: number, call: ParsedToolCall): StreamingDelta[] {
  return [
    { toolCall: { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } } },
    { toolCall: { index, function: { arguments: call.arguments } } },
  ];
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
