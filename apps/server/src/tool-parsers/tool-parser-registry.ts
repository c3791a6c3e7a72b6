import { InvalidArgumentError } from '@vllm-ts/core';
import { hermesToolParser } from './hermes-tool-parser.js';
import { llama3JsonToolParser } from './llama3-json-tool-parser.js';
import type { ToolParser } from './tool-parser.js';

/** The `--tool-call-parser` choices, by name. */
export const TOOL_PARSERS: Readonly<Record<string, ToolParser>> = Object.freeze({
  hermes: hermesToolParser,
  llama3_json: llama3JsonToolParser,
});

/** The `--tool-call-parser` names. */
export const TOOL_PARSER_NAMES: readonly string[] = Object.freeze(Object.keys(TOOL_PARSERS));

/**
 * The parser named `name`.
 * @param name a `--tool-call-parser` value
 * @returns the parser
 * @throws InvalidArgumentError (`invalid_option`) for a name not in {@link TOOL_PARSER_NAMES}
 */
export function getToolParser(name: string): ToolParser {
  const parser = Object.hasOwn(TOOL_PARSERS, name) ? TOOL_PARSERS[name] : undefined;
  if (parser === undefined) {
    const expected = `one of ${TOOL_PARSER_NAMES.map((n) => `"${n}"`).join(', ')}`;
    throw new InvalidArgumentError('invalid_option', 'ServerOptions', 'toolCallParser', expected, name);
  }
  return parser;
}
