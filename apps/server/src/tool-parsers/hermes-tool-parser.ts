import {
  StreamedCall,
  streamingToolParser,
  partialMarkerLength,
  type StreamingDelta,
  type StreamingToolParser,
  type ToolParser,
} from './tool-parser.js';

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\t' || c === '\r';

/**
 * vLLM's `hermes` parser (Hermes 2 Pro, Qwen2.5, Qwen3): calls are
 * `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks, any number of them. A block is
 * read as one JSON object (so a `</tool_call>` inside a string does not end it) and ends at its
 * `</tool_call>` or at the end of the output; text between the object and the `</tool_call>` is
 * dropped. Content is the text outside the blocks (after the first block, only stretches that are
 * not all whitespace). Whole-output parse: any broken block makes the whole output content, as in
 * vLLM. Streaming: see {@link HermesStream}.
 */
export const hermesToolParser: ToolParser = streamingToolParser('hermes', () => new HermesStream());

/**
 * Streaming state of {@link hermesToolParser}. Text outside blocks is released unless it may be the
 * start of `<tool_call>`; in a block, the call's head goes out once its name is read and its
 * arguments as they are read. A broken block (bad JSON, no string `name`, cut off by the end of the
 * output): before any call has been released, it and all the rest of the output are content; once
 * a call has been released, it cannot be taken back: the broken block is dropped up to its
 * `</tool_call>` (a call whose head went out keeps the arguments released so far).
 */
class HermesStream implements StreamingToolParser {
  numToolCalls = 0;
  malformed = false;
  #mode: 'text' | 'open' | 'call' | 'close' | 'skip' | 'raw' = 'text';
  /** Text not read yet. */
  #buf = '';
  /** The current block from its `<tool_call>`, kept while it may still turn out to be content. */
  #held = '';
  #call: StreamedCall | null = null;
  /** Whitespace after a block, released only if its stretch turns out to hold other text. */
  #pending = '';
  /** Whether the current stretch of text (since the last block) is being released. */
  #live = true;

  push(text: string): StreamingDelta[] {
    this.#buf += text;
    const out: StreamingDelta[] = [];
    while (this.#step(out));
    return out;
  }

  finish(): StreamingDelta[] {
    const out: StreamingDelta[] = [];
    if (this.#mode === 'text') this.#text(this.#buf, out);
    else if (this.#mode === 'raw' && this.#buf !== '') out.push({ content: this.#buf });
    else if (this.#mode === 'open' || (this.#mode === 'call' && this.#call!.reader.state === 'open')) this.#broken(out);
    this.#buf = '';
    return out;
  }

  /** One move of the state machine; false when it needs more text. */
  #step(out: StreamingDelta[]): boolean {
    const buf = this.#buf;
    switch (this.#mode) {
      case 'text': {
        const open = buf.indexOf(OPEN);
        const end = open >= 0 ? open : buf.length - partialMarkerLength(buf, OPEN);
        this.#text(buf.slice(0, end), out);
        this.#buf = buf.slice(end);
        if (open < 0) return false;
        this.#buf = buf.slice(open + OPEN.length);
        this.#held = OPEN;
        this.#mode = 'open';
        return true;
      }
      case 'open': {
        let i = 0;
        while (isSpace(buf[i])) i++;
        this.#held += buf.slice(0, i);
        this.#buf = buf.slice(i);
        if (i === buf.length) return false;
        if (buf[i] !== '{') return this.#broken(out);
        this.#call = new StreamedCall(this.numToolCalls);
        this.#mode = 'call';
        return true;
      }
      case 'call': {
        const call = this.#call!;
        const used = call.feed(buf, out);
        if (call.headSent) this.numToolCalls = call.index + 1;
        this.#held += buf.slice(0, used);
        this.#buf = buf.slice(used);
        if (call.reader.state === 'open') return false;
        if (call.reader.state === 'error') return this.#broken(out);
        this.#mode = 'close';
        return true;
      }
      case 'close': {
        let i = 0;
        while (isSpace(buf[i])) i++;
        if (buf.startsWith(CLOSE, i)) {
          this.#endBlock(buf.slice(i + CLOSE.length));
          return true;
        }
        if (CLOSE.startsWith(buf.slice(i))) return false;
        this.malformed = true;
        this.#mode = 'skip';
        return true;
      }
      case 'skip': {
        const close = buf.indexOf(CLOSE);
        if (close >= 0) {
          this.#endBlock(buf.slice(close + CLOSE.length));
          return true;
        }
        this.#buf = buf.slice(buf.length - partialMarkerLength(buf, CLOSE));
        return false;
      }
      case 'raw':
        if (buf !== '') out.push({ content: buf });
        this.#buf = '';
        return false;
    }
  }

  /** The current block broke: see the class comment. Returns true (the machine goes on). */
  #broken(out: StreamingDelta[]): boolean {
    this.malformed = true;
    if (this.numToolCalls > 0) {
      this.#mode = 'skip';
      return true;
    }
    this.#live = true;
    this.#text(this.#held, out);
    this.#held = '';
    this.#mode = 'raw';
    return true;
  }

  #endBlock(rest: string): void {
    this.#buf = rest;
    this.#mode = 'text';
    this.#call = null;
    this.#held = '';
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
