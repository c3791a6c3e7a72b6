import { ApiError } from './errors.js';
import type { ToolParser } from './tool-parsers/tool-parser.js';

const SUPPORTED = 'this server supports tool_choice "none", and "auto" when started with --enable-auto-tool-choice --tool-call-parser';

/**
 * Which parser reads a chat request's output, following vLLM: `tool_choice` defaults to `"auto"`
 * when `tools` are given (else `"none"`); `"auto"` needs the server's auto tool choice; `"required"`
 * and named tools need guided decoding, which this server lacks.
 * @param tools the request's `tools`
 * @param toolChoice the request's `tool_choice`
 * @param autoToolParser the parser of `--tool-call-parser` when `--enable-auto-tool-choice` is on, else null
 * @returns the parser to apply, or null for none
 * @throws ApiError (400, param `tool_choice`) for a choice this server cannot honour
 */
export function resolveToolParser(tools: readonly unknown[] | null | undefined, toolChoice: unknown, autoToolParser: ToolParser | null): ToolParser | null {
  const hasTools = tools != null && tools.length > 0;
  const choice = toolChoice ?? (hasTools ? 'auto' : 'none');
  if (choice === 'none') return null;
  if (choice !== 'auto' && choice !== 'required' && !isNamedTool(choice)) {
    throw new ApiError(
      'invalid_request',
      `tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}} (got ${JSON.stringify(choice)})`,
      'tool_choice',
    );
  }
  if (tools == null) throw new ApiError('invalid_request', 'When using `tool_choice`, `tools` must be set.', 'tool_choice');
  if (choice === 'auto') {
    if (autoToolParser === null) {
      throw new ApiError('invalid_request', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set', 'tool_choice');
    }
    return hasTools ? autoToolParser : null;
  }
  const what = choice === 'required' ? 'tool_choice "required"' : `a named tool_choice (${JSON.stringify(choice)})`;
  throw new ApiError('unsupported_parameter', `${what} needs guided decoding, which this server does not have: ${SUPPORTED}`, 'tool_choice');
}

function isNamedTool(choice: unknown): boolean {
  if (typeof choice !== 'object' || choice === null) return false;
  const c = choice as { type?: unknown; function?: { name?: unknown } | null };
  return c.type === 'function' && typeof c.function?.name === 'string';
}
