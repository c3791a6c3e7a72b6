import { VllmError } from '@vllm-ts/core';

/** Codes carried by {@link TokenizerError}. */
export type TokenizerErrorCode =
  | 'unsupported_tokenizer'
  | 'invalid_tokenizer_json'
  | 'tokenizer_not_found'
  | 'chat_template_missing'
  | 'chat_template_failed';

/**
 * A tokenizer could not be loaded or used: an unsupported component in `tokenizer.json`, a malformed file,
 * a missing chat template, or a template that failed to render.
 */
export class TokenizerError extends VllmError {
  declare readonly code: TokenizerErrorCode;

  /**
   * @param code one of {@link TokenizerErrorCode}
   * @param message what was wrong, what was expected, what was received
   * @param cause the underlying error, if any
   */
  constructor(code: TokenizerErrorCode, message: string, cause?: unknown) {
    super(code, `[tokenizer] ${message}`, cause === undefined ? {} : { cause });
  }
}

/**
 * Throws the `unsupported_tokenizer` error for a component type this runtime does not implement.
 * @param kind the section of `tokenizer.json` (e.g. `normalizer`)
 * @param type the type found there
 * @param supported the types this runtime implements
 * @throws {TokenizerError} always
 */
export function unsupported(kind: string, type: unknown, supported: readonly string[]): never {
  throw new TokenizerError(
    'unsupported_tokenizer',
    `${kind} type ${JSON.stringify(type)} is not supported; expected one of ${supported.join(', ')}`,
  );
}

/**
 * Throws the `invalid_tokenizer_json` error.
 * @param what what was wrong and what was expected
 * @param received the offending value (shortened in the message)
 * @throws {TokenizerError} always
 */
export function malformed(what: string, received: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(received)?.slice(0, 120) ?? String(received);
  } catch {
    shown = String(received);
  }
  throw new TokenizerError('invalid_tokenizer_json', `tokenizer.json: ${what} (got ${shown})`);
}
