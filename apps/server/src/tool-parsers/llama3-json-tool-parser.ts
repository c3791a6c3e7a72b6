import {
  StreamedCall,
  streamingToolParser,
  partialMarkerLength,
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
 * possibly several separated by `;`. Whole-output parse: anything else, or any broken object, makes
 * the whole output content, as in vLLM. Streaming: see {@link Llama3JsonStream}.
 */
export const llama3JsonToolParser: ToolParser = streamingToolParser('llama3_json', () => new Llama3JsonStream());

/**
 * Streaming state of {@link llama3JsonToolParser}. Modes: `start` holds text until it is clear
 * whether the output is calls; `text` passes text through; `between` reads whitespace and `;`
 * between objects; `call` reads an object, releasing its head once the name is read and its
 * arguments as they are read. When the output breaks the format, the text since the end of the last
 * whole call is content from then on (all of the output when there was none); but an object whose
 * head went out cannot be taken back: it keeps the arguments released so far and the rest of the
 * output is dropped.
 */
class Llama3JsonStream implements StreamingToolParser {
  numToolCalls = 0;
  malformed = false;
  #mode: 'start' | 'text' | 'between' | 'call' | 'drop' = 'start';
  /** Text not read yet. */
  #buf = '';
  /** Text read since the end of the last whole call (all of it before the first). */
  #tail = '';
  #call: StreamedCall | null = null;
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
        this.#mode = 'between';
        this.#read(start);
      }
    }
    while (this.#step(out));
    return out;
  }

  finish(): StreamingDelta[] {
    const out: StreamingDelta[] = [];
    if (this.#mode === 'call' && !this.#call!.headSent) this.#fail();
    else if (this.#mode === 'call') this.malformed = true;
    else if (this.#mode === 'between' && this.numToolCalls === 0) this.#mode = 'text';
    if ((this.#mode === 'text' || this.#mode === 'start') && this.#tail + this.#buf !== '') out.push({ content: this.#tail + this.#buf });
    this.#buf = '';
    this.#tail = '';
    return out;
  }

  /** Moves `n` characters from the unread text to the tail. */
  #read(n: number): void {
    this.#tail += this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
  }

  /** One move of the state machine; false when it needs more text. */
  #step(out: StreamingDelta[]): boolean {
    switch (this.#mode) {
      case 'start':
        return false;
      case 'text':
        if (this.#tail + this.#buf !== '') out.push({ content: this.#tail + this.#buf });
        this.#tail = '';
        this.#buf = '';
        return false;
      case 'drop':
        this.#buf = '';
        return false;
      case 'between': {
        let i = 0;
        while (isSpace(this.#buf[i])) i++;
        this.#read(i);
        const c = this.#buf[0];
        if (c === undefined) return false;
        if (this.numToolCalls > 0 && !this.#afterSeparator) {
          if (c !== ';') return this.#fail();
          this.#afterSeparator = true;
          this.#read(1);
          return true;
        }
        if (c !== '{') return this.#fail();
        this.#call = new StreamedCall(this.numToolCalls);
        this.#afterSeparator = false;
        this.#mode = 'call';
        return true;
      }
      case 'call': {
        const call = this.#call!;
        const used = call.feed(this.#buf, out);
        if (call.headSent) this.numToolCalls = call.index + 1;
        this.#read(used);
        if (call.reader.state === 'open') return false;
        if (call.reader.state === 'error') {
          if (!call.headSent) return this.#fail();
          this.malformed = true;
          this.#mode = 'drop';
          return true;
        }
        this.#tail = '';
        this.#mode = 'between';
        return true;
      }
    }
  }

  /** The format broke outside a released call: the tail and all that follows are content. */
  #fail(): boolean {
    this.malformed = true;
    this.#mode = 'text';
    this.#call = null;
    return true;
  }
}
