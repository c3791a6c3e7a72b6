/** OpenAI's `usage` object. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

/**
 * A `usage` object.
 * @param promptTokens prompt tokens (each prompt counted once, whatever `n`)
 * @param completionTokens generated tokens over all choices
 * @param cachedTokens prompt tokens served from the prefix cache, or null to leave the details out
 * @returns the object
 */
export function makeUsage(promptTokens: number, completionTokens: number, cachedTokens: number | null): Usage {
  const usage: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  if (cachedTokens !== null) usage.prompt_tokens_details = { cached_tokens: cachedTokens };
  return usage;
}
