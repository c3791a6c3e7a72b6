import { InvalidArgumentError } from '@vllm-ts/core';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ApiKeyAuth } from './api-key-auth.js';
import { registerChatCompletionsRoute } from './chat-completions-route.js';
import { registerCompletionsRoute } from './completions-route.js';
import type { ServerEngine } from './engine-types.js';
import { ApiError, logRequestError, toErrorResponse } from './errors.js';
import { registerInfoRoutes } from './info-routes.js';
import { ServerContext, type ServerState } from './server-context.js';
import { registerTokenizeRoutes } from './tokenize-routes.js';
import { getToolParser } from './tool-parsers/tool-parser-registry.js';
import { VllmMetrics } from './vllm-metrics.js';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The engine, or a promise of it: until it resolves, generation answers 503 and `/health` 503. */
  engine: ServerEngine | Promise<ServerEngine>;
  /** Names clients may use in `model`; the first is reported. Default: the engine's `servedModelName`. */
  servedModelNames?: readonly string[];
  /** Accepted API keys for paths under `/v1` (empty: none required). */
  apiKeys?: readonly string[];
  /** Most `logprobs`/`top_logprobs` per request (vLLM's `--max-logprobs`). Default 20. */
  maxLogprobs?: number;
  /** Largest request body in bytes; larger ones get 413. Default 4 MiB. */
  bodyLimit?: number;
  /** Leave out the per-request log line. */
  disableLogRequests?: boolean;
  /** Report `usage.prompt_tokens_details.cached_tokens`. */
  enablePromptTokensDetails?: boolean;
  /** Send usage at the end of every stream, whatever `stream_options` says. */
  enableForceIncludeUsage?: boolean;
  /**
   * Parse tool calls out of chat output when a request's `tool_choice` is `"auto"` (vLLM's
   * `--enable-auto-tool-choice`); needs {@link ServerOptions.toolCallParser}.
   */
  enableAutoToolChoice?: boolean;
  /** The tool-call format of the model: `hermes` or `llama3_json` (vLLM's `--tool-call-parser`). */
  toolCallParser?: string;
  /** Origins browsers may call from (CORS); `*` allows any. Default `['*']`, as vLLM. */
  allowedOrigins?: readonly string[];
  /** A pino-compatible logger; default: silent. */
  logger?: FastifyBaseLogger;
}

/** A server built by {@link createServer}. */
export interface VllmServer {
  /** The fastify instance (for `inject` in tests, or extra routes). */
  readonly app: FastifyInstance;
  /** The Prometheus metrics behind `/metrics`. */
  readonly metrics: VllmMetrics;
  /** Where the server is in its life. */
  readonly state: ServerState;
  /** Resolves once the engine is attached; rejects when it failed to load. */
  readonly ready: Promise<ServerEngine>;
  /**
   * Starts listening.
   * @returns the address, e.g. `http://127.0.0.1:8000`
   */
  listen(options: { host?: string; port?: number }): Promise<string>;
  /**
   * Graceful stop: new requests get 503, in-flight ones finish (or are aborted after
   * `drainTimeoutMs`), then the listener and the engine close.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * Builds the OpenAI-compatible HTTP server around an engine (`AsyncLLM` from `@vllm-ts/engine`).
 *
 * @param options the engine and server settings
 * @returns the server, not yet listening
 * @throws InvalidArgumentError (`invalid_option`) for `enableAutoToolChoice` without `toolCallParser`, or an unknown parser
 * @example
 * ```ts
 * import { AsyncLLM } from '@vllm-ts/engine';
 * const server = createServer({ engine: AsyncLLM.create({ model: './my-model' }), apiKeys: ['secret'] });
 * const address = await server.listen({ host: '127.0.0.1', port: 8000 });
 * // POST `${address}/v1/chat/completions` with any OpenAI client
 * await server.close({ drainTimeoutMs: 30_000 });
 * ```
 */
export function createServer(options: ServerOptions): VllmServer {
  const toolParser = options.toolCallParser === undefined ? null : getToolParser(options.toolCallParser);
  if (options.enableAutoToolChoice === true && toolParser === null) {
    throw new InvalidArgumentError('invalid_option', 'ServerOptions', 'toolCallParser', 'set when enableAutoToolChoice is true', undefined, '--enable-auto-tool-choice requires --tool-call-parser');
  }
  const logger = options.logger;
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    // While draining, routes answer 503 themselves, in the OpenAI error shape.
    return503OnClosing: false,
  });
  const metrics = new VllmMetrics();
  const ctx = new ServerContext(options.servedModelNames ?? [], options.maxLogprobs ?? 20, metrics, app.log, {
    disableLogRequests: options.disableLogRequests ?? false,
    enablePromptTokensDetails: options.enablePromptTokensDetails ?? false,
    enableForceIncludeUsage: options.enableForceIncludeUsage ?? false,
  }, options.enableAutoToolChoice === true ? toolParser : null);
  const auth = new ApiKeyAuth(options.apiKeys ?? []);

  const origins = options.allowedOrigins ?? ['*'];
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && (origins.includes('*') || origins.includes(origin))) {
      // Set on the raw response so streamed (hijacked) replies carry it too.
      reply.raw.setHeader('access-control-allow-origin', origins.includes('*') ? '*' : origin);
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        reply.raw.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        reply.raw.setHeader('access-control-allow-headers', request.headers['access-control-request-headers'] ?? '*');
        reply.raw.setHeader('access-control-max-age', '600');
        return reply.code(204).send();
      }
    }
    const start = performance.now();
    // 'finish' also fires for hijacked (streamed) responses, which skip fastify's onResponse.
    reply.raw.once('finish', () => {
      metrics.observeHttp(request.method, request.routeOptions.url ?? 'none', reply.raw.statusCode, (performance.now() - start) / 1000);
    });
    auth.check(request.method, request.url, request.headers.authorization);
  });
  app.setErrorHandler((error, _request, reply) => {
    const { status, body } = toErrorResponse(error);
    logRequestError(app.log, status, error);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = toErrorResponse(
      new ApiError('route_not_found', `No route ${request.method} ${request.url.split('?', 1)[0]}`),
    );
    return reply.status(status).send(body);
  });
  registerInfoRoutes(app, ctx);
  registerTokenizeRoutes(app, ctx);
  registerCompletionsRoute(app, ctx);
  registerChatCompletionsRoute(app, ctx);

  const ready = Promise.resolve(options.engine)
    .then((engine) => {
      if (ctx.state === 'loading') ctx.attach(engine);
      return engine;
    })
    .catch((error: unknown) => {
      ctx.state = 'failed';
      throw error;
    });
  ready.catch(() => undefined);

  let closing: Promise<void> | null = null;
  return {
    app,
    metrics,
    get state() {
      return ctx.state;
    },
    ready,
    async listen({ host = '127.0.0.1', port = 8000 }) {
      return app.listen({ host, port });
    },
    close({ drainTimeoutMs = 30_000 } = {}) {
      closing ??= (async () => {
        if (ctx.state === 'ready' || ctx.state === 'loading') ctx.state = 'draining';
        const listener = app.close();
        const engine = ctx.engineOrNull;
        if (engine) await engine.close({ drainTimeoutMs });
        // The engine has ended every request; wait for their last bytes, then drop the idle
        // keep-alive sockets that would otherwise hold the listener open.
        const deadline = Date.now() + 5_000;
        while (ctx.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        app.server.closeIdleConnections();
        // A socket that never sent a request does not count as idle; give it a moment, then cut it.
        const settled = await Promise.race([listener.then(() => true), new Promise((r) => setTimeout(r, 250, false))]);
        if (!settled) app.server.closeAllConnections();
        await listener;
        metrics.detach();
        ctx.state = 'closed';
      })();
      return closing;
    },
  };
}
