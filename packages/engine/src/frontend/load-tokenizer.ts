import { IncrementalDetokenizer, Tokenizer } from '@vllm-ts/tokenizer';
import type { DetokenizerFactory } from '../output/sequence-state.js';

/** Prompt tokens given to each detokenizer as context (enough for any decoder's look-back). */
const DETOKENIZER_CONTEXT = 6;

/**
 * Loads the tokenizer of a folder and the streaming detokenizer factory the output processor uses.
 * @param dir folder with tokenizer.json (and tokenizer_config.json)
 * @returns the tokenizer and a per-sequence detokenizer factory
 * @throws TokenizerError when the files are missing or malformed
 */
export async function loadTokenizer(dir: string): Promise<{ tokenizer: Tokenizer; createDetokenizer: DetokenizerFactory }> {
  const tokenizer = await Tokenizer.fromDirectory(dir);
  const createDetokenizer: DetokenizerFactory = ({ skipSpecialTokens, promptTokenIds }) =>
    new IncrementalDetokenizer(tokenizer, { skipSpecialTokens, contextIds: promptTokenIds.slice(-DETOKENIZER_CONTEXT) });
  return { tokenizer, createDetokenizer };
}
