import { malformed, unsupported } from '../errors.js';
import { CHAR_TO_BYTE, byteLevelTokenBytes } from './byte-level.js';
import { patternRegex } from './normalizer.js';

/** A compiled decoder chain step: HF's `decode_chain`, tokens in, tokens out. */
type DecodeChain = (tokens: string[]) => string[];

const SUPPORTED = ['ByteLevel', 'Metaspace', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'Sequence'];
const LOSSY = new TextDecoder('utf-8', { ignoreBOM: true });
const STRICT = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
const ENCODER = new TextEncoder();

function byteFallbackValue(token: string): number {
  if (token.length !== 6 || !token.startsWith('<0x') || token[5] !== '>') return -1;
  const hex = token.slice(3, 5);
  return /^[0-9a-fA-F]{2}$/.test(hex) ? parseInt(hex, 16) : -1;
}

function byteLevelBytes(token: string): Uint8Array {
  return byteLevelTokenBytes(token) ?? ENCODER.encode(token);
}

function compileChain(spec: Record<string, any>): DecodeChain {
  switch (spec.type) {
    case 'ByteLevel':
      return (tokens) => {
        const parts = tokens.map(byteLevelBytes);
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        return [LOSSY.decode(all)];
      };
    case 'Replace': {
      const re = patternRegex(spec.pattern);
      const content = String(spec.content);
      return (tokens) => tokens.map((t) => t.replace(re, () => content));
    }
    case 'ByteFallback':
      return (tokens) => {
        const out: string[] = [];
        let pending: number[] = [];
        const flush = (): void => {
          if (pending.length === 0) return;
          try {
            out.push(STRICT.decode(new Uint8Array(pending)));
          } catch {
            out.push('\ufffd'.repeat(pending.length));
          }
          pending = [];
        };
        for (const t of tokens) {
          const b = byteFallbackValue(t);
          if (b >= 0) pending.push(b);
          else {
            flush();
            out.push(t);
          }
        }
        flush();
        return out;
      };
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip': {
      const content = String(spec.content ?? ' ');
      const start = Number(spec.start ?? 0);
      const stop = Number(spec.stop ?? 0);
      return (tokens) =>
        tokens.map((t) => {
          const chars = [...t];
          let s = 0;
          while (s < start && s < chars.length && chars[s] === content) s++;
          let e = chars.length;
          while (chars.length - e < stop && e > s && chars[e - 1] === content) e--;
          return s === 0 && e === chars.length ? t : chars.slice(s, e).join('');
        });
    }
    case 'Metaspace': {
      const rep = String(spec.replacement ?? '\u2581');
      const scheme: string = spec.prepend_scheme ?? (spec.add_prefix_space === false ? 'never' : 'always');
      return (tokens) =>
        tokens.map((t, i) => {
          const dropFirst = i === 0 && scheme !== 'never';
          return t.replaceAll(rep, dropFirst ? '' : ' ');
        });
    }
    case 'Sequence': {
      if (!Array.isArray(spec.decoders)) malformed('Sequence decoder needs a "decoders" array', spec);
      const steps = (spec.decoders as Record<string, any>[]).map(compileChain);
      return (tokens) => steps.reduce((acc, step) => step(acc), tokens);
    }
    default:
      return unsupported('decoder', spec.type, SUPPORTED);
  }
}

function stripSpaces(text: string, count: number): string {
  let cut = 0;
  while (cut < count && text.charCodeAt(cut) === 32) cut++;
  return cut === 0 ? text : text.slice(cut);
}

function hasStep(spec: Record<string, any>, type: string): boolean {
  return spec.type === type || (spec.type === 'Sequence' && (spec.decoders as Record<string, any>[]).some((d) => hasStep(d, type)));
}

/**
 * Per-token bytes for the two decoder layouts LLMs ship (ByteLevel alone; SentencePiece's
 * Replace("▁", " ") + ByteFallback + Fuse + Strip), so decoding is a byte copy and one UTF-8 decode.
 */
interface BytePlan {
  readonly data: Uint8Array;
  readonly offsets: Int32Array;
  /** 1 where the token is a `<0xXX>` byte-fallback token (SentencePiece layout only). */
  readonly fallback: Uint8Array | null;
  /** Leading spaces removed from each chunk (the Strip decoder). */
  readonly stripStart: number;
}

function isSentencePieceLayout(spec: Record<string, any>): number {
  const d = spec.decoders as Record<string, any>[] | undefined;
  if (spec.type !== 'Sequence' || !d || d.length !== 4) return -1;
  const [r, b, f, s] = d as [Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>];
  const ok =
    r.type === 'Replace' && r.pattern?.String === '\u2581' && r.content === ' ' && b.type === 'ByteFallback' &&
    f.type === 'Fuse' && s.type === 'Strip' && s.content === ' ' && (s.stop ?? 0) === 0;
  return ok ? Number(s.start ?? 0) : -1;
}

function buildBytePlan(spec: Record<string, any>, idToToken: readonly (string | undefined)[]): BytePlan | null {
  const onlyByteLevel = spec.type === 'ByteLevel' || (spec.type === 'Sequence' && (spec.decoders as Record<string, any>[]).every((d) => d.type === 'ByteLevel'));
  const spStrip = isSentencePieceLayout(spec);
  if (!onlyByteLevel && spStrip < 0) return null;
  const count = idToToken.length;
  const offsets = new Int32Array(count + 1);
  const fallback = onlyByteLevel ? null : new Uint8Array(count);
  // Written straight into one growing buffer: no per-token arrays.
  let data = new Uint8Array(count * 8 + 64);
  let at = 0;
  for (let id = 0; id < count; id++) {
    offsets[id] = at;
    const token = idToToken[id];
    if (token === undefined) continue;
    if (data.length - at < token.length * 3) {
      const grown = new Uint8Array((data.length + token.length * 3) * 2);
      grown.set(data.subarray(0, at));
      data = grown;
    }
    if (onlyByteLevel) {
      let mapped = true;
      for (let i = 0; i < token.length; i++) {
        const c = token.charCodeAt(i);
        const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c]! : -1;
        if (b < 0) {
          mapped = false;
          break;
        }
        data[at + i] = b;
      }
      // A token outside the byte map (an added token such as "<|im_start|>" with spaces) decodes as its UTF-8.
      at += mapped ? token.length : ENCODER.encodeInto(token, data.subarray(at)).written;
    } else {
      const b = byteFallbackValue(token);
      if (b >= 0) {
        data[at++] = b;
        fallback![id] = 1;
      } else at += ENCODER.encodeInto(token.replaceAll('\u2581', ' '), data.subarray(at)).written;
    }
  }
  offsets[count] = at;
  return { data: data.slice(0, at), offsets, fallback, stripStart: onlyByteLevel ? 0 : spStrip };
}

/** Decodes runs of token ids to text, as HF's decoder does. */
export class TokenDecoder {
  /**
   * 1 for the ids of `<0xXX>` tokens when the decoder has a ByteFallback step, else null. A run of them decodes
   * as a unit, so a later byte can turn earlier text into U+FFFD: streaming holds such runs back.
   */
  readonly byteFallbackIds: Uint8Array | null;
  private readonly chain: DecodeChain | null;
  private readonly plan: BytePlan | null;
  private buffer = new Uint8Array(4096);
  /**
   * Text of each id whose bytes are valid UTF-8 on their own (null: not valid alone, or a byte-fallback token),
   * filled on first use. Concatenating such texts equals decoding the concatenated bytes.
   */
  private readonly texts: (string | null | undefined)[] = [];

  /**
   * @param json the `decoder` section of `tokenizer.json` (null: tokens are joined with spaces)
   * @param idToToken the token string of each id (added tokens included)
   * @throws {TokenizerError} `unsupported_tokenizer` for an unknown decoder type
   */
  constructor(json: unknown, private readonly idToToken: readonly (string | undefined)[]) {
    const spec = json as Record<string, any> | null;
    this.chain = spec == null ? null : compileChain(spec);
    this.plan = spec == null ? null : buildBytePlan(spec, idToToken);
    this.byteFallbackIds = null;
    if (spec != null && hasStep(spec, 'ByteFallback')) {
      const marks = new Uint8Array(idToToken.length);
      for (let id = 0; id < idToToken.length; id++) if (byteFallbackValue(idToToken[id] ?? '') >= 0) marks[id] = 1;
      this.byteFallbackIds = marks;
    }
  }

  /**
   * Decodes `ids[start..end)`; ids outside the vocabulary are skipped, as HF does.
   * @returns the text
   */
  decode(ids: readonly number[], start: number, end: number): string {
    if (end <= start) return '';
    const plan = this.plan;
    if (plan !== null) {
      const joined = this.concatTexts(plan, ids, start, end);
      if (joined !== null) return stripSpaces(joined, plan.stripStart);
      const { offsets, data } = plan;
      const limit = offsets.length - 1;
      let total = 0;
      for (let i = start; i < end; i++) {
        const id = ids[i]!;
        if (id >= 0 && id < limit) total += offsets[id + 1]! - offsets[id]!;
      }
      if (this.buffer.length < total) this.buffer = new Uint8Array(total * 2);
      const buf = this.buffer;
      let at = 0;
      let sawFallback = false;
      for (let i = start; i < end; i++) {
        const id = ids[i]!;
        if (!(id >= 0 && id < limit)) continue;
        const s = offsets[id]!;
        const e = offsets[id + 1]!;
        if (e - s === 1) buf[at++] = data[s]!;
        else {
          buf.set(data.subarray(s, e), at);
          at += e - s;
        }
        if (plan.fallback !== null && plan.fallback[id] === 1) sawFallback = true;
      }
      let text: string;
      if (!sawFallback) text = LOSSY.decode(buf.subarray(0, at));
      else {
        try {
          // Every fallback run is valid UTF-8 exactly when the whole buffer is (runs sit between whole characters).
          text = STRICT.decode(buf.subarray(0, at));
        } catch {
          return this.decodeGeneric(ids, start, end);
        }
      }
      return stripSpaces(text, plan.stripStart);
    }
    return this.decodeGeneric(ids, start, end);
  }

  /** The decoded text when every id has a standalone text, else null. */
  private concatTexts(plan: BytePlan, ids: readonly number[], start: number, end: number): string | null {
    const { offsets, data, fallback } = plan;
    const limit = offsets.length - 1;
    const texts = this.texts;
    let out = '';
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < limit)) continue;
      let t = texts[id];
      if (t === undefined) {
        t = null;
        if (fallback === null || fallback[id] === 0) {
          try {
            t = STRICT.decode(data.subarray(offsets[id]!, offsets[id + 1]!));
          } catch {
            // A partial character: decoded with its neighbours' bytes.
          }
        }
        texts[id] = t;
      }
      if (t === null) return null;
      out += t;
    }
    return out;
  }

  private decodeGeneric(ids: readonly number[], start: number, end: number): string {
    const tokens: string[] = [];
    for (let i = start; i < end; i++) {
      const t = this.idToToken[ids[i]!];
      if (t !== undefined) tokens.push(t);
    }
    if (this.chain === null) return tokens.join(' ');
    return this.chain(tokens).join('');
  }
}

