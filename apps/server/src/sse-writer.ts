import type { ServerResponse } from 'node:http';
import { once } from 'node:events';

/** Bytes a response may buffer before `send` waits for the client to read. */
const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * Writes server-sent events the way OpenAI and vLLM frame them: each event is `data: <json>`
 * and a blank line; the stream ends with `data: [DONE]`. A slow client slows its own request:
 * once more than 256 KiB wait in its socket buffer, `send` waits for it to drain. (Waiting for
 * every write to drain would cost an event-loop turn per token.) Headers go out with the first
 * event, so an error before it can still be answered with its own HTTP status.
 */
export class SseWriter {
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  #closed = false;

  /**
   * @param res the raw response (the fastify reply must be hijacked)
   * @param headers extra headers
   */
  constructor(res: ServerResponse, headers: Record<string, string> = {}) {
    this.#res = res;
    this.#headers = headers;
    res.on('close', () => {
      this.#closed = true;
    });
  }

  /** True once the status line and headers were sent (from then on errors travel as events). */
  get hasStarted(): boolean {
    return this.#res.headersSent;
  }

  /** True once the client is gone or the stream was ended. */
  get isClosed(): boolean {
    return this.#closed || this.#res.destroyed;
  }

  /**
   * Sends one event carrying `data` as JSON.
   * @param data any JSON-serializable value
   */
  async send(data: unknown): Promise<void> {
    await this.#write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends `data: [DONE]` and ends the response. */
  async end(): Promise<void> {
    await this.#write('data: [DONE]\n\n');
    if (!this.isClosed) this.#res.end();
  }

  async #write(chunk: string): Promise<void> {
    if (this.isClosed) return;
    if (!this.#res.headersSent) {
      this.#res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...this.#headers,
      });
    }
    if (!this.#res.write(chunk) && this.#res.writableLength > MAX_BUFFERED_BYTES) {
      await Promise.race([once(this.#res, 'drain'), once(this.#res, 'close')]);
    }
  }
}
