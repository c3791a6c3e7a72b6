import { malformed, unsupported } from '../errors.js';
import { compileOnigRegex, escapeRegex } from './onig-regex.js';
import { patternRegex } from './normalizer.js';
import { pieceScanner } from './piece-scanner.js';

/** Receives one piece of pre-tokenized text and its offset in the segment (0 = start of the input). */
export type EmitPiece = (piece: string, offset: number) => void;
/** A compiled pre-tokenizer stage. */
export type PreTokenize = (text: string, offset: number, emit: EmitPiece) => void;

/** A compiled pre-tokenizer: how to split, and whether the model sees byte-level symbols. */
export interface CompiledPreTokenizer {
  /** Splits text into pieces; null means the whole text is one piece. */
  readonly split: PreTokenize | null;
  /** True when a ByteLevel stage is present: the model works on UTF-8 bytes mapped to characters. */
  readonly byteLevel: boolean;
}

/** The pattern GPT-2 splits with, which the ByteLevel pre-tokenizer applies when `use_regex` is set. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** How the delimiter of a Split is kept, as in HF's `SplitDelimiterBehavior`. */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

const SUPPORTED = ['ByteLevel', 'Split', 'Metaspace', 'Digits', 'Punctuation', 'Whitespace', 'WhitespaceSplit', 'CharDelimiterSplit', 'BertPreTokenizer', 'Sequence'];
const PUNCTUATION = /[\p{P}!-/:-@[-`{-~]/gu;

const STICKY = new WeakMap<RegExp, RegExp>();

function stickyTwin(re: RegExp): RegExp {
  let twin = STICKY.get(re);
  if (twin === undefined) {
    twin = new RegExp(re.source, re.flags.replace('g', '') + 'y');
    STICKY.set(re, twin);
  }
  return twin;
}

/**
 * Splits `text` around the matches of the global RegExp `re` with HF's delimiter behaviour.
 * Matches and gaps alternate; `invert` swaps which of them counts as the delimiter. Empty pieces are dropped.
 */
export function splitByRegex(
  text: string,
  offset: number,
  re: RegExp,
  behavior: SplitBehavior,
  invert: boolean,
  emit: EmitPiece,
): void {
  let prev = 0;
  let m: RegExpExecArray | null;
  if (behavior === 'Isolated') {
    // Isolated keeps every piece, so invert changes nothing. Pre-tokenizer patterns usually match at every
    // position: test() with a sticky twin advances without building
    // match arrays, and exec() finds the next match when a gap appears.
    const sticky = stickyTwin(re);
    let pos = 0;
    const n = text.length;
    while (pos < n) {
      sticky.lastIndex = pos;
      if (sticky.test(text) && sticky.lastIndex > pos) {
        const end = sticky.lastIndex;
        emit(pos === 0 && end === n ? text : text.slice(pos, end), offset + pos);
        pos = end;
        continue;
      }
      re.lastIndex = pos;
      m = re.exec(text);
      while (m !== null && m[0].length === 0) {
        re.lastIndex = m.index + 1;
        m = re.exec(text);
      }
      const start = m === null ? n : m.index;
      emit(text.slice(pos, start), offset + pos);
      pos = start;
    }
    return;
  }
  re.lastIndex = 0;
  // [start, end, isDelimiter] triples covering the text.
  const parts: number[] = [];
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      re.lastIndex = start + 1;
      continue;
    }
    if (start > prev) parts.push(prev, start, invert ? 1 : 0);
    parts.push(start, end, invert ? 0 : 1);
    prev = end;
  }
  if (prev < text.length) parts.push(prev, text.length, invert ? 1 : 0);
  const out: number[] = [];
  const n = parts.length / 3;
  if (behavior === 'Removed') {
    for (let i = 0; i < n; i++) if (parts[3 * i + 2] === 0) out.push(parts[3 * i]!, parts[3 * i + 1]!);
  } else if (behavior === 'MergedWithPrevious' || behavior === 'Contiguous') {
    let previousMatch = false;
    for (let i = 0; i < n; i++) {
      const isMatch = parts[3 * i + 2] === 1;
      const extend = behavior === 'MergedWithPrevious' ? isMatch && !previousMatch : isMatch && previousMatch;
      if (extend && out.length > 0) out[out.length - 1] = parts[3 * i + 1]!;
      else out.push(parts[3 * i]!, parts[3 * i + 1]!);
      previousMatch = isMatch;
    }
  } else {
    // MergedWithNext: walk backwards, a delimiter joins the piece after it.
    const rev: number[] = [];
    let nextMatch = false;
    for (let i = n - 1; i >= 0; i--) {
      const isMatch = parts[3 * i + 2] === 1;
      if (isMatch && !nextMatch && rev.length > 0) rev[rev.length - 2] = parts[3 * i]!;
      else rev.push(parts[3 * i]!, parts[3 * i + 1]!);
      nextMatch = isMatch;
    }
    for (let i = rev.length - 2; i >= 0; i -= 2) out.push(rev[i]!, rev[i + 1]!);
  }
  for (let i = 0; i < out.length; i += 2) {
    const s = out[i]!;
    const e = out[i + 1]!;
    if (e > s) emit(text.slice(s, e), offset + s);
  }
}

function behaviorOf(spec: Record<string, any>, fallback: SplitBehavior): SplitBehavior {
  const b = spec.behavior ?? fallback;
  if (!BEHAVIORS.includes(b)) malformed(`Split behavior must be one of ${BEHAVIORS.join(', ')}`, b);
  return b as SplitBehavior;
}

/** Isolated splitting with a hand-written scanner (see piece-scanner.ts) when the pattern has one, else the RegExp. */
function isolatedStage(pattern: string): PreTokenize {
  const scanner = pieceScanner(pattern);
  if (scanner === null) return regexStage(compileOnigRegex(pattern), 'Isolated', false);
  return (text, offset, emit) => {
    const scan = scanner(text);
    const n = text.length;
    for (let p = 0; p < n; ) {
      const e = scan(text, p);
      emit(p === 0 && e === n ? text : text.slice(p, e), offset + p);
      p = e;
    }
  };
}

function regexStage(re: RegExp, behavior: SplitBehavior, invert: boolean): PreTokenize {
  return (text, offset, emit) => splitByRegex(text, offset, re, behavior, invert, emit);
}

function compileStage(spec: Record<string, any>, state: { byteLevel: boolean }): PreTokenize | null {
  switch (spec.type) {
    case 'ByteLevel': {
      state.byteLevel = true;
      const prefix = spec.add_prefix_space === true;
      const split = spec.use_regex === false ? null : isolatedStage(GPT2_PATTERN);
      if (!prefix) return split;
      return (text, offset, emit) => {
        const t = text.startsWith(' ') ? text : ` ${text}`;
        if (split === null) emit(t, offset);
        else split(t, offset, emit);
      };
    }
    case 'Split': {
      const behavior = behaviorOf(spec, 'Isolated');
      if (behavior === 'Isolated' && typeof spec.pattern?.Regex === 'string') return isolatedStage(spec.pattern.Regex);
      return regexStage(patternRegex(spec.pattern), behavior, spec.invert === true);
    }
    case 'Metaspace': {
      const rep = String(spec.replacement ?? '\u2581');
      const scheme: string = spec.prepend_scheme ?? (spec.add_prefix_space === false ? 'never' : 'always');
      const doSplit = spec.split !== false;
      const repRe = new RegExp(escapeRegex(rep), 'gu');
      return (text, offset, emit) => {
        let t = text.replaceAll(' ', rep);
        if (!t.startsWith(rep) && (scheme === 'always' || (scheme === 'first' && offset === 0))) t = rep + t;
        if (doSplit) splitByRegex(t, offset, repRe, 'MergedWithNext', false, emit);
        else emit(t, offset);
      };
    }
    case 'Digits':
      return regexStage(/\p{N}/gu, spec.individual_digits === true ? 'Isolated' : 'Contiguous', false);
    case 'Punctuation':
      return regexStage(PUNCTUATION, behaviorOf(spec, 'Isolated'), false);
    case 'Whitespace':
      return regexStage(compileOnigRegex('\\w+|[^\\w\\s]+'), 'Removed', true);
    case 'WhitespaceSplit':
      return regexStage(/\p{White_Space}+/gu, 'Removed', false);
    case 'CharDelimiterSplit':
      return regexStage(patternRegex({ String: String(spec.delimiter) }), 'Removed', false);
    case 'BertPreTokenizer':
      return chain([regexStage(/\p{White_Space}+/gu, 'Removed', false), regexStage(PUNCTUATION, 'Isolated', false)]);
    case 'Sequence': {
      if (!Array.isArray(spec.pretokenizers)) malformed('Sequence pre-tokenizer needs a "pretokenizers" array', spec);
      const stages = (spec.pretokenizers as Record<string, any>[]).map((s) => compileStage(s, state)).filter((s): s is PreTokenize => s !== null);
      return stages.length === 0 ? null : chain(stages);
    }
    default:
      return unsupported('pre_tokenizer', spec.type, SUPPORTED);
  }
}

function chain(stages: PreTokenize[]): PreTokenize {
  if (stages.length === 1) return stages[0]!;
  const [first, ...rest] = stages;
  const tail = chain(rest);
  return (text, offset, emit) => first!(text, offset, (piece, at) => tail(piece, at, emit));
}

/**
 * Compiles the `pre_tokenizer` section of `tokenizer.json`.
 * NOTE: ByteLevel's byte-to-character mapping is not done here; the model encodes each piece's UTF-8 bytes
 * directly, so stages after a ByteLevel stage see the original characters.
 * @param json the section (null when absent)
 * @throws {TokenizerError} `unsupported_tokenizer` for an unknown type
 */
export function compilePreTokenizer(json: unknown): CompiledPreTokenizer {
  if (json == null) return { split: null, byteLevel: false };
  const state = { byteLevel: false };
  const split = compileStage(json as Record<string, any>, state);
  return { split, byteLevel: state.byteLevel };
}
