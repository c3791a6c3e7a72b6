/**
 * Finds where a JSON object ends, fed incrementally: it tracks nesting and strings only, so the
 * text it delimits still has to be parsed. Linear over all the text it is given.
 */
export class JsonObjectScanner {
  #depth = 0;
  #inString = false;
  #escape = false;

  /**
   * Scans on through `text`, which continues the object (its first call starts at the `{`).
   * @param text the next characters
   * @returns how many characters of `text` complete the object, or -1 when it is still open
   */
  feed(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === '\\') this.#escape = true;
        else if (c === '"') this.#inString = false;
      } else if (c === '"') this.#inString = true;
      else if (c === '{' || c === '[') this.#depth++;
      else if ((c === '}' || c === ']') && --this.#depth === 0) return i + 1;
    }
    return -1;
  }
}

/**
 * End of the JSON object starting at `from`.
 * @param text the text
 * @param from index of the opening `{`
 * @returns the index just past the object, or -1 when it does not close
 */
export function jsonObjectEnd(text: string, from: number): number {
  const n = new JsonObjectScanner().feed(text.slice(from));
  return n < 0 ? -1 : from + n;
}
