import { InvalidArgumentError, VllmError } from '@vllm-ts/core';

/** An error the server answers with, in the OpenAI shape. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** HTTP status and OpenAI error `type` for one error code. */
export interface ErrorMapping {
  readonly status: number;
  readonly type: string;
}

const BAD_REQUEST: ErrorMapping = { status: 400, type: 'invalid_request_error' };

/**
 * The one table from error codes (the server's own and `VllmError.code`s the engine throws) to an
 * HTTP status and an OpenAI error `type`. Codes absent from it are internal errors (500).
 */
export const ERROR_TABLE: Readonly<Record<string, ErrorMapping>> = Object.freeze({
  invalid_request: BAD_REQUEST,
  invalid_json: BAD_REQUEST,
  unsupported_parameter: BAD_REQUEST,
  invalid_sampling_params: BAD_REQUEST,
  invalid_option: BAD_REQUEST,
  invalid_prompt: BAD_REQUEST,
  prompt_too_long: BAD_REQUEST,
  context_length_exceeded: BAD_REQUEST,
  duplicate_request_id: BAD_REQUEST,
  chat_template_error: BAD_REQUEST,
  invalid_api_key: { status: 401, type: 'authentication_error' },
  model_not_found: { status: 404, type: 'not_found_error' },
  route_not_found: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  engine_loading: { status: 503, type: 'service_unavailable_error' },
  engine_closed: { status: 503, type: 'service_unavailable_error' },
  shutting_down: { status: 503, type: 'service_unavailable_error' },
  internal: { status: 500, type: 'server_error' },
});

const INTERNAL: ErrorMapping = { status: 500, type: 'server_error' };

/** Fastify's own error codes, renamed into the table's vocabulary. */
const FASTIFY_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

/**
 * An error answered to the client as is: `param` names the offending request field (snake_case,
 * dotted and indexed, e.g. `messages[1].role`).
 */
export class ApiError extends VllmError {
  /** The request field at fault, or null. */
  readonly param: string | null;

  /**
   * @param code a key of {@link ERROR_TABLE}
   * @param message what was wrong, what was expected, what was received
   * @param param the offending request field, when there is one
   */
  constructor(code: string, message: string, param: string | null = null) {
    super(code, message);
    this.param = param;
  }
}

/**
 * Status and OpenAI-shaped body for any thrown value. Messages of unexpected errors are kept
 * (they say what broke) but their type is `server_error`.
 *
 * @param error what was thrown
 * @returns the HTTP status and the body to send
 */
export function toErrorResponse(error: unknown): { status: number; body: OpenAIErrorBody } {
  let code = 'internal';
  let message = error instanceof Error ? error.message : String(error);
  let param: string | null = null;
  if (VllmError.isInstance(error)) {
    code = error.code;
    if (error instanceof ApiError) param = error.param;
    else if (error instanceof InvalidArgumentError) param = snakeCase(error.field);
  } else if (isFastifyError(error)) {
    code = FASTIFY_CODES[error.code] ?? (error.statusCode === 404 ? 'route_not_found' : 'invalid_request');
    if (code === 'request_too_large') message = 'Request body is larger than the server accepts';
    if (error.statusCode >= 500) code = 'internal';
  }
  const mapping = ERROR_TABLE[code] ?? INTERNAL;
  return { status: mapping.status, body: { error: { message, type: mapping.type, param, code } } };
}

function isFastifyError(error: unknown): error is { code: string; statusCode: number; message: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { statusCode?: unknown }).statusCode === 'number'
  );
}

/**
 * `maxTokens` -> `max_tokens`, keeping dots and indices (`stopTokenIds[2]` -> `stop_token_ids[2]`).
 * @param name a camelCase field path
 * @returns the snake_case form
 */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Logs a failed request the way operators want it: 503s (loading, draining) are expected and get one
 * warning line; other server-side failures get the error with its stack; client errors are not logged.
 * @param log the server's logger
 * @param status the HTTP status sent
 * @param error what was thrown
 */
export function logRequestError(
  log: { warn(msg: string): void; error(obj: object, msg: string): void },
  status: number,
  error: unknown,
): void {
  if (status === 503) log.warn(`request refused (503): ${error instanceof Error ? error.message : String(error)}`);
  else if (status >= 500) log.error({ err: error }, 'request failed');
}
