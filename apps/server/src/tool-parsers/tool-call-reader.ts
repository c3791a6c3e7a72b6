/** Where a {@link ToolCallReader} stands after the characters fed so far. */
export type ToolCallReaderState = 'open' | 'done' | 'error';

type Mode = 'value' | 'firstKey' | 'key' | 'colon' | 'after' | 'string' | 'number' | 'literal' | 'done' | 'error';

const ARGUMENT_KEYS = new Set(['arguments', 'parameters']);
const SPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u']);
const HEX = /^[0-9a-fA-F]$/;
const DIGIT = /^[0-9]$/;

/**
 * Reads one tool-call object, `{"name": "...", "arguments": ...}`, fed character by character in any
 * pieces, with JSON's full grammar: it stops at the first character that cannot continue valid JSON,
 * so what it has captured is always a prefix of valid JSON. At the object's top level, `name` must
 * be a string, and the first `arguments` or `parameters` key is the arguments; a second one of
 * either, or a second `name`, is an error. The arguments text is the model's own: the value's
 * characters verbatim, or, for a string value, the string it decodes to (only once it is closed).
 */
export class ToolCallReader {
  #mode: Mode = 'value';
  /** Open containers: `{` or `[`; the call object itself is the first. */
  readonly #stack: string[] = [];
  /** Characters consumed, from the object's `{`. */
  #pos = 0;
  /** The string being read, from its opening quote. */
  #str = '';
  #escape = false;
  #hex = 0;
  #isKey = false;
  #number = '';
  #literal = '';
  #key: string | null = null;
  #name: string | null = null;
  #argsStart = -1;
  #argsEnd = -1;
  #argsIsString = false;
  /** The arguments text read so far, and its part not yet taken by {@link takeArguments}. */
  #args = '';
  #fresh = '';
  /** Just after a `[`: a `]` may close it. */
  #emptyArray = false;

  /** The call's name, once its string is closed. */
  get name(): string | null {
    return this.#name;
  }

  /** `open` while more may come, `done` once the object closed, `error` once the text broke JSON or the call shape. */
  get state(): ToolCallReaderState {
    return this.#mode === 'done' ? 'done' : this.#mode === 'error' ? 'error' : 'open';
  }

  /**
   * The arguments text read so far: grows only by appending; final once {@link argumentsComplete}.
   * @returns the text, `''` before the value starts (and for a string value until it closes)
   */
  argumentsSoFar(): string {
    return this.#args;
  }

  /**
   * The arguments text read since the last call (linear over a whole stream, unlike slicing
   * {@link argumentsSoFar}).
   * @returns the new text, possibly `''`
   */
  takeArguments(): string {
    const fresh = this.#fresh;
    this.#fresh = '';
    return fresh;
  }

  /** Whether {@link argumentsSoFar} is final (the value ended, or the object closed without one). */
  get argumentsComplete(): boolean {
    return this.#argsEnd >= 0 || this.#mode === 'done';
  }

  /**
   * Reads on; the first character must be the object's `{` (leading whitespace is the caller's).
   * @param text the next characters
   * @returns how many characters of `text` were consumed: all of them while open, up to and
   * including the closing `}` once done, up to the offending character on error
   */
  feed(text: string): number {
    const base = this.#pos;
    let i = 0;
    for (; i < text.length && this.#mode !== 'done'; i++) {
      if (this.#mode === 'error') break;
      this.#step(text[i]!);
      if (this.state === 'error') break;
      this.#pos++;
    }
    if (this.#argsStart >= 0 && !this.#argsIsString) {
      const from = Math.max(this.#argsStart, base) - base;
      const to = (this.#argsEnd < 0 ? this.#pos : this.#argsEnd) - base;
      if (to > from) this.#append(text.slice(from, to));
    }
    return i;
  }

  #append(args: string): void {
    this.#args += args;
    this.#fresh += args;
  }

  #step(c: string): void {
    switch (this.#mode) {
      case 'string':
        return this.#stringChar(c);
      case 'number':
        if (this.#numberChar(c)) return;
        this.#endValue(this.#pos);
        return this.#step(c);
      case 'literal':
        if (c !== this.#literal[0]) return this.#fail();
        this.#literal = this.#literal.slice(1);
        if (this.#literal === '') this.#endValue(this.#pos + 1);
        return;
      default:
        if (SPACE.has(c)) return;
    }
    switch (this.#mode) {
      case 'value':
        return this.#startValue(c);
      case 'firstKey':
      case 'key':
        if (c === '}' && this.#mode === 'firstKey') return this.#close('{');
        if (c !== '"') return this.#fail();
        return this.#openString(true);
      case 'colon':
        if (c !== ':') return this.#fail();
        this.#mode = 'value';
        return;
      case 'after':
        if (c === ',') {
          this.#mode = this.#stack.at(-1) === '{' ? 'key' : 'value';
          return;
        }
        if (c === '}' || c === ']') return this.#close(c === '}' ? '{' : '[');
        return this.#fail();
      default:
        return this.#fail();
    }
  }

  #startValue(c: string): void {
    const top = this.#stack.length === 1;
    if (this.#stack.length === 0 && c !== '{') return this.#fail();
    if (top && this.#key === 'name' && c !== '"') return this.#fail();
    if (top && this.#key !== null && ARGUMENT_KEYS.has(this.#key)) {
      this.#argsStart = this.#pos;
      this.#argsIsString = c === '"';
    }
    if (c === '{' || c === '[') {
      this.#stack.push(c);
      this.#mode = c === '{' ? 'firstKey' : 'value';
      this.#emptyArray = c === '[';
      return;
    }
    if (c === ']' && this.#emptyArray) {
      this.#emptyArray = false;
      return this.#close('[');
    }
    this.#emptyArray = false;
    if (c === '"') return this.#openString(false);
    if (c === '-' || DIGIT.test(c)) {
      this.#mode = 'number';
      this.#number = c;
      return;
    }
    const literal = c === 't' ? 'rue' : c === 'f' ? 'alse' : c === 'n' ? 'ull' : null;
    if (literal === null) return this.#fail();
    this.#mode = 'literal';
    this.#literal = literal;
  }

  #openString(isKey: boolean): void {
    this.#mode = 'string';
    this.#isKey = isKey;
    this.#str = '"';
    this.#emptyArray = false;
  }

  #stringChar(c: string): void {
    this.#str += c;
    if (this.#hex > 0) {
      if (!HEX.test(c)) return this.#fail();
      this.#hex--;
    } else if (this.#escape) {
      if (!ESCAPES.has(c)) return this.#fail();
      this.#escape = false;
      if (c === 'u') this.#hex = 4;
    } else if (c === '\\') this.#escape = true;
    else if (c < ' ') this.#fail();
    else if (c === '"') {
      if (!this.#isKey) return this.#endValue(this.#pos + 1);
      if (this.#stack.length === 1) {
        const key = JSON.parse(this.#str) as string;
        const dup = (key === 'name' && this.#name !== null) || (ARGUMENT_KEYS.has(key) && this.#argsStart >= 0);
        if (dup) return this.#fail();
        this.#key = key;
      }
      this.#mode = 'colon';
    }
  }

  /** Whether `c` continues the number (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`). */
  #numberChar(c: string): boolean {
    const n = this.#number;
    const last = n.at(-1)!;
    const digits = n.replace(/^-/, '');
    let ok: boolean;
    if (DIGIT.test(c)) ok = !(digits === '0');
    else if (c === '.') ok = DIGIT.test(last) && !/[.eE]/.test(n);
    else if (c === 'e' || c === 'E') ok = DIGIT.test(last) && !/[eE]/.test(n);
    else if (c === '+' || c === '-') ok = last === 'e' || last === 'E';
    else return false;
    if (!ok) {
      this.#fail();
      return true;
    }
    this.#number += c;
    return true;
  }

  /** A scalar value ended just before `end` (a count of characters consumed). */
  #endValue(end: number): void {
    if (this.#mode === 'number' && !DIGIT.test(this.#number.at(-1)!)) return this.#fail();
    if (this.#stack.length === 1) this.#endTopValue(end);
    this.#mode = 'after';
  }

  #endTopValue(end: number): void {
    // `name` is always a string, just closed.
    if (this.#key === 'name') this.#name = JSON.parse(this.#str) as string;
    if (this.#argsStart >= 0 && this.#argsEnd < 0) {
      this.#argsEnd = end;
      if (this.#argsIsString) this.#append(JSON.parse(this.#str) as string);
    }
    this.#key = null;
  }

  #close(open: string): void {
    if (this.#stack.pop() !== open) return this.#fail();
    this.#emptyArray = false;
    if (this.#stack.length === 0) {
      if (this.#name === null) return this.#fail();
      if (this.#argsStart < 0) this.#append('{}');
      this.#mode = 'done';
      return;
    }
    if (this.#stack.length === 1) this.#endTopValue(this.#pos + 1);
    this.#mode = 'after';
  }

  #fail(): void {
    this.#mode = 'error';
  }
}
