import type { FastifyInstance } from 'fastify';
import { SERVER_VERSION } from './version.js';
import type { ServerContext } from './server-context.js';

/**
 * `GET /health`, `/ping`, `/version`, `/v1/models` and `/metrics`.
 * @param app the fastify instance
 * @param ctx the shared server state
 */
export function registerInfoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const health = async (_: unknown, reply: import('fastify').FastifyReply) => {
    if (ctx.state !== 'ready') throw ctx.unavailable();
    return reply.status(200).send();
  };
  app.get('/health', health);
  app.get('/ping', health);

  app.get('/version', async () => ({ version: SERVER_VERSION }));

  app.get('/v1/models', async () => {
    const { engine } = ctx.acquire(null);
    const created = Math.floor(Date.now() / 1000);
    return {
      object: 'list',
      data: ctx.servedModelNames.map((id) => ({
        id,
        object: 'model',
        created,
        owned_by: 'vllm-ts',
        root: engine.config.model,
        parent: null,
        max_model_len: engine.config.maxModelLen,
      })),
    };
  });

  app.get('/metrics', async (_, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
