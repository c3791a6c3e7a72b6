import { malformed, unsupported } from '../errors.js';
import { compileOnigRegex, escapeRegex } from './onig-regex.js';

/** A compiled normalizer: text in, normalized text out. */
export type Normalize = (text: string) => string;

const SUPPORTED = ['NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Strip', 'StripAccents', 'Prepend', 'Replace', 'Sequence'];
const LEADING_WHITE = /^\p{White_Space}+/u;
const TRAILING_WHITE = /\p{White_Space}+$/u;
const NONSPACING_MARK = /\p{Mn}/gu;

/**
 * Compiles the `normalizer` section of `tokenizer.json`.
 * @param json the section (null when absent)
 * @returns the normalizer, or null when there is none
 * @throws {TokenizerError} `unsupported_tokenizer` for a normalizer type this runtime does not implement
 */
export function compileNormalizer(json: unknown): Normalize | null {
  if (json == null) return null;
  const spec = json as Record<string, any>;
  switch (spec.type) {
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': {
      const form = spec.type as string;
      return (text) => text.normalize(form);
    }
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'StripAccents':
      return (text) => text.replace(NONSPACING_MARK, '');
    case 'Strip': {
      const left = spec.strip_left !== false;
      const right = spec.strip_right !== false;
      return (text) => {
        let out = left ? text.replace(LEADING_WHITE, '') : text;
        if (right) out = out.replace(TRAILING_WHITE, '');
        return out;
      };
    }
    case 'Prepend': {
      const prefix = String(spec.prepend);
      return (text) => (text.length === 0 ? text : prefix + text);
    }
    case 'Replace': {
      const re = patternRegex(spec.pattern);
      const content = String(spec.content);
      return (text) => text.replace(re, () => content);
    }
    case 'Sequence': {
      if (!Array.isArray(spec.normalizers)) malformed('Sequence normalizer needs a "normalizers" array', spec);
      const steps = (spec.normalizers as unknown[]).map(compileNormalizer).filter((n): n is Normalize => n !== null);
      if (steps.length === 1) return steps[0]!;
      return (text) => {
        for (const step of steps) text = step(text);
        return text;
      };
    }
    default:
      return unsupported('normalizer', spec.type, SUPPORTED);
  }
}

/**
 * Compiles a `{ String: ... }` or `{ Regex: ... }` pattern object into a global RegExp.
 * @throws {TokenizerError} `invalid_tokenizer_json` for any other shape
 */
export function patternRegex(pattern: unknown): RegExp {
  const p = pattern as Record<string, unknown> | null;
  if (p && typeof p.String === 'string') return new RegExp(escapeRegex(p.String), 'gu');
  if (p && typeof p.Regex === 'string') return compileOnigRegex(p.Regex);
  return malformed('a pattern must be {"String": ...} or {"Regex": ...}', pattern);
}
