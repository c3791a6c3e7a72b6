import { JsonObjectScanner, jsonObjectEnd } from './json-object-scanner.js';
import {
  partialMarkerLength,
  toolCallDeltas,
  toolCallFromJson,
  tryParseJson,
  type ExtractedToolCalls,
  type ParsedToolCall,
  type StreamingDelta,
  type StreamingToolParser,
  type ToolParser,
} from './tool-parser.js';

const PYTHON_TAG = '<|python_tag|>';

const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\t' || c === '\r';

/** Where the calls start: past leading whitespace and a `<|python_tag|>`; -1 when not a call. */
function callsStart(text: string): number {
  let i = 0;
  while (isSpace(text[i])) i++;
  if (text.startsWith(PYTHON_TAG, i)) return i + PYTHON_TAG.length;
  return text[i] === '{' ? i : -1;
}

/**
 * vLLM's `llama3_json` parser (Llama 3.1/3.2 JSON tool calling): the whole output is
 * `{"name": ..., "parameters": {...}}` (or `"arguments"`), possibly after `<|python_tag|>`,
 * possibly several separated by `;`. Anything else, or any malformed object, makes the whole
 * output content, as in vLLM.
 */
export const llama3JsonToolParser: ToolParser = {
  name: 'llama3_json',
  extractToolCalls(text: string): ExtractedToolCalls {
    const notCalls = { content: text, toolCalls: [] };
    let pos = callsStart(text);
    if (pos < 0) return notCalls;
    const toolCalls: ParsedToolCall[] = [];
    for (;;) {
      while (isSpace(text[pos])) pos++;
      if (pos >= text.length) break;
      if (toolCalls.length > 0) {
        if (text[pos] !== ';') return notCalls;
        pos++;
        while (isSpace(text[pos])) pos++;
        if (pos >= text.length) break;
      }
      if (text[pos] !== '{') return notCalls;
      const end = jsonObjectEnd(text, pos);
      const call = end < 0 ? null : toolCallFromJson(tryParseJson(text.slice(pos, end)));
      if (call === null) return notCalls;
      toolCalls.push(call);
      pos = end;
    }
    return toolCalls.length === 0 ? notCalls : { content: null, toolCalls };
  },
  createStream: () => new Llama3JsonStream(),
};

/**
 * Streaming state of {@link llama3JsonToolParser}. Modes: `start` holds text until it is clear
 * whether the output is calls; `text` passes text through; `calls` releases each call once its
 * object closes; on a malformed object, the text not yet released as calls becomes content.
 */
class Llama3JsonStream implements StreamingToolParser {
  numToolCalls = 0;
  #mode: 'start' | 'text' | 'calls' = 'start';
  /** Text not yet released (in `calls` mode: from the end of the last call released). */
  #buf = '';
  /** Index in `#buf` up to which it has been read (`calls` mode). */
  #pos = 0;
  #scanner: JsonObjectScanner | null = null;
  #objectStart = 0;
  /** Whether the `;` before the next object has been read. */
  #afterSeparator = false;

  push(text: string): StreamingDelta[] {
    this.#buf += text;
    const out: StreamingDelta[] = [];
    if (this.#mode === 'start') {
      let i = 0;
      while (isSpace(this.#buf[i])) i++;
      const rest = this.#buf.slice(i);
      if (rest === '' || (rest.length < PYTHON_TAG.length && partialMarkerLength(rest, PYTHON_TAG) === rest.length)) return out;
      const start = callsStart(this.#buf);
      if (start < 0) this.#mode = 'text';
      else {
        this.#mode = 'calls';
        this.#pos = start;
      }
    }
    if (this.#mode === 'calls') this.#scan(out);
    if (this.#mode === 'text' && this.#buf !== '') {
      out.push({ content: this.#buf });
      this.#buf = '';
    }
    return out;
  }

  finish(): StreamingDelta[] {
    const out: StreamingDelta[] = [];
    // An object still open, or a dangling separator, is not a call.
    if (this.#mode === 'calls' && (this.numToolCalls === 0 || this.#scanner !== null || this.#buf.slice(this.#pos).trim() !== '')) this.#mode = 'text';
    if (this.#mode !== 'calls' && this.#buf !== '') out.push({ content: this.#buf });
    this.#buf = '';
    return out;
  }

  #scan(out: StreamingDelta[]): void {
    const b = () => this.#buf;
    for (;;) {
      if (this.#scanner === null) {
        while (isSpace(b()[this.#pos])) this.#pos++;
        if (this.#pos >= b().length) return;
        if (this.numToolCalls > 0 && b()[this.#pos] === ';' && !this.#afterSeparator) {
          this.#afterSeparator = true;
          this.#pos++;
          continue;
        }
        if (b()[this.#pos] !== '{' || (this.numToolCalls > 0 && !this.#afterSeparator)) return this.#fail();
        this.#scanner = new JsonObjectScanner();
        this.#objectStart = this.#pos;
      }
      const n = this.#scanner.feed(b().slice(this.#pos));
      if (n < 0) {
        this.#pos = b().length;
        return;
      }
      const end = this.#pos + n;
      const call = toolCallFromJson(tryParseJson(b().slice(this.#objectStart, end)));
      if (call === null) return this.#fail();
      out.push(...toolCallDeltas(this.numToolCalls++, call));
      this.#scanner = null;
      this.#afterSeparator = false;
      this.#buf = b().slice(end);
      this.#pos = 0;
    }
  }

  /** Malformed: what was not released as calls is content from now on. */
  #fail(): void {
    this.#mode = 'text';
    this.#scanner = null;
  }
}
