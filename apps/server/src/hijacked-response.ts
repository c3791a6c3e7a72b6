import type { ServerResponse } from 'node:http';
import { logRequestError, toErrorResponse } from './errors.js';
import type { ServerContext } from './server-context.js';
import type { SseWriter } from './sse-writer.js';

/**
 * Ends a hijacked response with a 200 JSON body.
 * @param res the raw response
 * @param body the JSON value
 * @param requestId echoed in `x-request-id`
 */
export function sendJson(res: ServerResponse, body: unknown, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId });
  res.end(JSON.stringify(body));
}

/**
 * Ends a hijacked response with an error: an error event then `[DONE]` once a stream has started
 * (as vLLM does), otherwise an OpenAI-shaped error body with its status.
 *
 * @param res the raw response
 * @param sse the stream writer, when streaming
 * @param error what was thrown
 * @param ctx the shared server state (for logging)
 */
export async function sendError(
  res: ServerResponse,
  sse: SseWriter | null,
  error: unknown,
  ctx: ServerContext,
): Promise<void> {
  const { status, body } = toErrorResponse(error);
  logRequestError(ctx.log, status, error);
  if (sse?.hasStarted) {
    await sse.send(body);
    await sse.end();
    return;
  }
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
