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

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

const parseBlock = (body: string): ParsedToolCall | null => toolCallFromJson(tryParseJson(body.trim()));

/**
 * vLLM's `hermes` parser (Hermes 2 Pro, Qwen2.5, Qwen3): calls are
 * `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks, any number of them; a block left
 * open at the end of the output still counts when its JSON is whole. Content is the text outside the
 * blocks (after the first block, only stretches that are not all whitespace). One malformed block
 * makes the whole output content, as in vLLM.
 */
export const hermesToolParser: ToolParser = {
  name: 'hermes',
  extractToolCalls(text: string): ExtractedToolCalls {
    const first = text.indexOf(OPEN);
    if (first < 0) return { content: text, toolCalls: [] };
    const toolCalls: ParsedToolCall[] = [];
    let content = text.slice(0, first);
    let pos = first;
    while (pos < text.length) {
      const open = text.indexOf(OPEN, pos);
      const between = text.slice(pos, open < 0 ? text.length : open);
      if (pos > first && between.trim() !== '') content += between;
      if (open < 0) break;
      const close = text.indexOf(CLOSE, open + OPEN.length);
      const call = parseBlock(text.slice(open + OPEN.length, close < 0 ? text.length : close));
      if (call === null) return { content: text, toolCalls: [] };
      toolCalls.push(call);
      pos = close < 0 ? text.length : close + CLOSE.length;
    }
    return { content: content === '' ? null : content, toolCalls };
  },
  createStream: () => new HermesStream(),
};

/** Streaming state of {@link hermesToolParser}: text is released unless it may be markup. */
class HermesStream implements StreamingToolParser {
  numToolCalls = 0;
  #buf = '';
  #inBlock = false;
  /** Whitespace after a block, released only if its stretch turns out to hold other text. */
  #pending = '';
  /** Whether the current stretch of text (since the last block) is being released. */
  #live = true;

  push(text: string): StreamingDelta[] {
    this.#buf += text;
    const out: StreamingDelta[] = [];
    for (;;) {
      if (this.#inBlock) {
        const close = this.#buf.indexOf(CLOSE);
        if (close < 0) break;
        this.#endBlock(this.#buf.slice(0, close), CLOSE, out);
        this.#buf = this.#buf.slice(close + CLOSE.length);
        continue;
      }
      const open = this.#buf.indexOf(OPEN);
      if (open >= 0) {
        this.#text(this.#buf.slice(0, open), out);
        this.#buf = this.#buf.slice(open + OPEN.length);
        this.#inBlock = true;
        this.#pending = '';
        continue;
      }
      const keep = partialMarkerLength(this.#buf, OPEN);
      this.#text(this.#buf.slice(0, this.#buf.length - keep), out);
      this.#buf = this.#buf.slice(this.#buf.length - keep);
      break;
    }
    return out;
  }

  finish(): StreamingDelta[] {
    const out: StreamingDelta[] = [];
    if (this.#inBlock) this.#endBlock(this.#buf, '', out);
    else this.#text(this.#buf, out);
    this.#buf = '';
    this.#inBlock = false;
    return out;
  }

  #endBlock(body: string, close: string, out: StreamingDelta[]): void {
    this.#inBlock = false;
    const call = parseBlock(body);
    if (call === null) {
      // Malformed: the block is text, as vLLM returns it.
      this.#live = true;
      this.#text(`${OPEN}${body}${close}`, out);
      return;
    }
    out.push(...toolCallDeltas(this.numToolCalls++, call));
    this.#live = false;
    this.#pending = '';
  }

  #text(text: string, out: StreamingDelta[]): void {
    if (text === '') return;
    if (!this.#live) {
      this.#pending += text;
      if (this.#pending.trim() === '') return;
      text = this.#pending;
      this.#pending = '';
      this.#live = true;
    }
    out.push({ content: text });
  }
}
