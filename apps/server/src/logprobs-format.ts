import type { Logprob, TokenLogprobs } from '@vllm-ts/core';
import type { ServerTokenizer } from './engine-types.js';

/** The `logprobs` object of a completion choice (OpenAI's legacy completions format). */
export interface CompletionLogprobs {
  text_offset: number[];
  token_logprobs: (number | null)[];
  tokens: string[];
  top_logprobs: (Record<string, number> | null)[];
}

/** One entry of a chat choice's `logprobs.content`. */
export interface ChatLogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

// JSON has no -Infinity; vLLM reports an impossible token as -9999.
const finite = (x: number): number => (Number.isFinite(x) ? x : -9999);

/**
 * Renders token ids as text, one token at a time (a byte-level token that is part of a UTF-8
 * character shows as U+FFFD, as in vLLM), with a small cache: the same ids recur across steps.
 */
export class TokenTextCache {
  readonly #tokenizer: ServerTokenizer;
  readonly #cache = new Map<number, string>();

  /** @param tokenizer the model's tokenizer */
  constructor(tokenizer: ServerTokenizer) {
    this.#tokenizer = tokenizer;
  }

  /**
   * @param id a token id
   * @returns its text (special tokens included)
   */
  text(id: number): string {
    let s = this.#cache.get(id);
    if (s === undefined) {
      s = this.#tokenizer.decode([id], { skipSpecialTokens: false });
      if (this.#cache.size >= 65_536) this.#cache.clear();
      this.#cache.set(id, s);
    }
    return s;
  }
}

/**
 * Appends generated (or echoed prompt) tokens to a completion choice's `logprobs`.
 *
 * @param into the choice's logprobs so far (mutated)
 * @param entries one per token; null for a position without logprobs (the first prompt token)
 * @param tokenIds the tokens, aligned with `entries`
 * @param textOffset offset of the first token in the choice's text
 * @param tokens id-to-text
 * @returns the offset after the last token
 */
export function appendCompletionLogprobs(
  into: CompletionLogprobs,
  entries: readonly (TokenLogprobs | null)[],
  tokenIds: readonly number[],
  textOffset: number,
  tokens: TokenTextCache,
): number {
  let offset = textOffset;
  for (let i = 0; i < tokenIds.length; i++) {
    const entry = entries[i] ?? null;
    const token = tokens.text(tokenIds[i]!);
    into.tokens.push(token);
    into.text_offset.push(offset);
    into.token_logprobs.push(entry ? finite(entry.chosen.logprob) : null);
    if (entry) {
      const top: Record<string, number> = {};
      for (const lp of [...entry.top, entry.chosen]) top[tokens.text(lp.tokenId)] ??= finite(lp.logprob);
      into.top_logprobs.push(top);
    } else {
      into.top_logprobs.push(null);
    }
    offset += token.length;
  }
  return offset;
}

/**
 * A fresh, empty completion `logprobs` object.
 * @returns the object
 */
export function emptyCompletionLogprobs(): CompletionLogprobs {
  return { text_offset: [], token_logprobs: [], tokens: [], top_logprobs: [] };
}

/**
 * Chat `logprobs.content` entries for generated tokens.
 *
 * @param entries one per token
 * @param topLogprobs how many alternatives to list per token
 * @param tokens id-to-text
 * @returns the entries
 */
export function chatLogprobEntries(
  entries: readonly TokenLogprobs[],
  topLogprobs: number,
  tokens: TokenTextCache,
): ChatLogprobEntry[] {
  const encoder = new TextEncoder();
  const one = (lp: Logprob) => {
    const token = tokens.text(lp.tokenId);
    return { token, logprob: finite(lp.logprob), bytes: [...encoder.encode(token)] };
  };
  return entries.map((e) => ({ ...one(e.chosen), top_logprobs: e.top.slice(0, topLogprobs).map(one) }));
}
