import { TokenizerError } from '../errors.js';
import { NEWER_UNICODE_CLASS } from './unicode-legacy.js';

// NOTE: Oniguruma (what HF tokenizers compiles patterns with) treats \s as Unicode White_Space: it matches
// U+0085 and not U+FEFF, the reverse of JavaScript's \s. \d and \w are Unicode-aware there, ASCII here.
// NOTE: the result compiles with the `v` flag, so that character classes can subtract the characters
// Unicode assigned after the tables HF's and tiktoken's regex engines were built with (see unicode-legacy.ts).
const WHITE = '\\p{White_Space}';
const NOT_WHITE = '\\P{White_Space}';
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));
// Characters that must be escaped inside a `v`-mode class (syntax characters and reserved double punctuators).
const CLASS_ESCAPE = new Set('()[]{}/|-\\&!#$%*+,.:;<=>?@^`~'.split(''));

/** A Unicode property escape as the older Unicode tables see it: newer characters count as unassigned. */
function property(name: string, negated: boolean): string {
  if (name === 'White_Space') return negated ? NOT_WHITE : WHITE;
  return negated ? `[\\P{${name}}${NEWER_UNICODE_CLASS}]` : `[\\p{${name}}--${NEWER_UNICODE_CLASS}]`;
}
const WORD_BODY = `${property('L', false)}${property('M', false)}${property('Nd', false)}\\p{Pc}`;

/** Characters that match `ch` case-insensitively under Unicode simple case folding (the letters regex patterns use). */
function caseVariants(ch: string): string[] {
  const out = new Set([ch, ch.toLowerCase(), ch.toUpperCase()]);
  const lower = ch.toLowerCase();
  if (lower === 's') out.add('\u017f');
  if (lower === 'k') out.add('\u212a');
  return [...out].filter((c) => [...c].length === 1);
}

function escapeClassChar(c: string): string {
  return CLASS_ESCAPE.has(c) ? `\\${c}` : c;
}

/**
 * Translates an Oniguruma pattern, as `tokenizer.json` writes it, into a JavaScript `v`-mode RegExp source.
 * Handles `\s \S \d \D \w \W \A \z \x{..}`, and inline case-insensitive groups `(?i:...)`/`(?i)`, which
 * Node 20's RegExp lacks, by expanding each letter into its case variants.
 * @param pattern the Oniguruma pattern
 * @returns an equivalent JavaScript pattern source (to compile with the `v` flag)
 * @throws {TokenizerError} `unsupported_tokenizer` for constructs with no JavaScript equivalent (possessive
 *   quantifiers, atomic groups)
 */
export function translateOnigPattern(pattern: string): string {
  let out = '';
  let inClass = 0;
  // One entry per open group: whether case-insensitive matching applies inside it.
  const groups: boolean[] = [];
  let ci = false;
  const fail = (what: string): never => {
    throw new TokenizerError('unsupported_tokenizer', `regex ${JSON.stringify(pattern)}: ${what} has no JavaScript equivalent`);
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[++i];
      if (n === undefined) fail('a trailing backslash');
      switch (n) {
        case 's': out += WHITE; break;
        case 'S': out += NOT_WHITE; break;
        case 'd': out += property('Nd', false); break;
        case 'D': out += property('Nd', true); break;
        case 'w': out += inClass ? WORD_BODY : `[${WORD_BODY}]`; break;
        case 'W': if (inClass) fail('\\W inside a character class'); out += `[^${WORD_BODY}]`; break;
        case 'A': out += '^'; break;
        case 'z': out += '$'; break;
        case 'Z': out += '(?=\\n?$)'; break;
        case 'h': out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]'; break;
        case 'p': case 'P': {
          const close = pattern.indexOf('}', i);
          let body = pattern.slice(i + 2, close);
          let kind = n;
          if (body.startsWith('^')) { body = body.slice(1); kind = n === 'p' ? 'P' : 'p'; }
          out += property(body, kind === 'P');
          i = close;
          break;
        }
        case 'x': {
          if (pattern[i + 1] === '{') {
            const close = pattern.indexOf('}', i);
            out += `\\u{${pattern.slice(i + 2, close)}}`;
            i = close;
          } else {
            out += `\\x${pattern.slice(i + 1, i + 3)}`;
            i += 2;
          }
          break;
        }
        default:
          if (/[A-Za-z0-9]/.test(n!)) out += `\\${n}`;
          else out += inClass ? escapeClassChar(n!) : SYNTAX.has(n!) ? `\\${n}` : n;
      }
      continue;
    }
    if (inClass) {
      if (c === '[') fail('a nested character class');
      if (c === ']') {
        inClass--;
        out += c;
        continue;
      }
      if (c === '-' && out[out.length - 1] !== '[' && out[out.length - 1] !== '^' && pattern[i + 1] !== ']') {
        out += c;
        continue;
      }
      if (ci && /\p{L}/u.test(c)) {
        // A range such as a-z under (?i): add the other case's range too.
        if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
          const hi = pattern[i + 2]!;
          out += `${c}-${hi}${c.toUpperCase()}-${hi.toUpperCase()}${c.toLowerCase()}-${hi.toLowerCase()}`;
          i += 2;
        } else out += caseVariants(c).map(escapeClassChar).join('');
        continue;
      }
      out += escapeClassChar(c);
      continue;
    }
    if (c === '[') {
      inClass++;
      out += c;
      if (pattern[i + 1] === '^') { out += '^'; i++; }
      if (pattern[i + 1] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(') {
      groups.push(ci);
      if (pattern.startsWith('(?>', i)) fail('an atomic group (?>...)');
      const inline = /^\(\?([imx-]+)(:|\))/.exec(pattern.slice(i, i + 8));
      if (inline) {
        const flags = inline[1]!;
        const on = flags.split('-')[0]!;
        const off = flags.split('-')[1] ?? '';
        if (on.includes('i')) ci = true;
        if (off.includes('i')) ci = false;
        if (inline[2] === ')') {
          // (?i) applies to the rest of the enclosing group.
          groups.pop();
          i += inline[0].length - 1;
          continue;
        }
        out += '(?:';
        i += inline[0].length - 1;
        continue;
      }
      out += c;
      continue;
    }
    if (c === ')') {
      ci = groups.pop() ?? false;
      out += c;
      continue;
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') fail('a possessive quantifier');
    if (ci && /\p{L}/u.test(c)) {
      const variants = caseVariants(c);
      out += variants.length > 1 ? `[${variants.join('')}]` : c;
      continue;
    }
    out += c === '/' ? '\\/' : c;
  }
  return out;
}

/**
 * Compiles an Oniguruma pattern into a global, Unicode-aware JavaScript RegExp.
 * @param pattern the pattern from `tokenizer.json`
 * @returns the compiled RegExp (flags `gv`)
 * @throws {TokenizerError} `unsupported_tokenizer` when it cannot be translated or compiled
 */
export function compileOnigRegex(pattern: string): RegExp {
  const source = translateOnigPattern(pattern);
  try {
    return new RegExp(source, 'gv');
  } catch (error) {
    throw new TokenizerError('unsupported_tokenizer', `regex ${JSON.stringify(pattern)} could not be compiled (as ${JSON.stringify(source)})`, error);
  }
}

/** Escapes a literal string for use inside a RegExp. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
