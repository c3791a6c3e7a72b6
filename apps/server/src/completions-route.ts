import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { streamChoices } from './choice-stream.js';
import { ApiError } from './errors.js';
import { sendError, sendJson } from './hijacked-response.js';
import { appendCompletionLogprobs, emptyCompletionLogprobs, type CompletionLogprobs } from './logprobs-format.js';
import { tokenizeCompletionPrompts } from './prompt-input.js';
import { CompletionRequestSchema } from './request-schemas.js';
import { compileValidator } from './request-validator.js';
import { resolveMaxTokens, samplingParamsFromRequest } from './sampling-params-from-request.js';
import type { ServerContext } from './server-context.js';
import { SseWriter } from './sse-writer.js';
import { makeUsage, type Usage } from './usage.js';

interface ChoiceState {
  text: string;
  numTokens: number;
  logprobs: CompletionLogprobs | null;
  offset: number;
  finishReason: string | null;
  stopReason: number | string | null;
}

/**
 * `POST /v1/completions`: OpenAI's legacy completions, streaming or not, several prompts at once.
 * @param app the fastify instance
 * @param ctx the shared server state
 */
export function registerCompletionsRoute(app: FastifyInstance, ctx: ServerContext): void {
  const validate = compileValidator(CompletionRequestSchema);
  app.post('/v1/completions', async (request, reply) => {
    const body = validate(request.body);
    const { engine, modelName } = ctx.acquire(body.model);
    if (body.suffix != null && body.suffix !== '') {
      throw new ApiError('unsupported_parameter', 'suffix is not supported by this server', 'suffix');
    }
    if (body.best_of != null && body.best_of !== (body.n ?? 1)) {
      throw new ApiError('unsupported_parameter', `best_of must equal n (${body.n ?? 1}) (got ${body.best_of})`, 'best_of');
    }
    const prompts = tokenizeCompletionPrompts(body.prompt, engine.tokenizer);
    const maxTokens = resolveMaxTokens(
      {
        promptTokens: Math.max(...prompts.map((p) => p.tokenIds.length)),
        requestedMaxTokens: body.max_tokens ?? null,
        defaultMaxTokens: 16,
        param: 'max_tokens',
        promptParam: 'prompt',
        maxTokensCap: ctx.generationDefaults.maxTokensCap,
      },
      engine.config.maxModelLen,
    );
    const logprobs = body.logprobs ?? null;
    const echo = body.echo ?? false;
    const withPromptLogprobs = echo && logprobs !== null && body.prompt_logprobs == null;
    const params = samplingParamsFromRequest(
      { ...body, prompt_logprobs: withPromptLogprobs ? logprobs : body.prompt_logprobs },
      maxTokens,
      logprobs,
      ctx,
    );
    const id = body.request_id ?? `cmpl-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    const n = params.n;
    const promptTokens = prompts.reduce((s, p) => s + p.tokenIds.length, 0);
    ctx.logRequest(id, promptTokens, params);
    const choices: ChoiceState[] = Array.from({ length: prompts.length * n }, () => ({
      text: '',
      numTokens: 0,
      logprobs: logprobs === null ? null : emptyCompletionLogprobs(),
      offset: 0,
      finishReason: null,
      stopReason: null,
    }));
    let numCachedTokens = 0;
    const controller = ctx.abortOnDisconnect(reply);
    const events = streamChoices(engine, prompts, params, id, {
      signal: controller.signal,
      ...(body.priority == null ? {} : { priority: body.priority }),
    });
    const stream = body.stream === true;
    const includeUsage = stream && (body.stream_options?.include_usage === true || ctx.flags.enableForceIncludeUsage);
    const continuousUsage = stream && body.stream_options?.continuous_usage_stats === true;
    const usage = (): Usage =>
      makeUsage(promptTokens, choices.reduce((s, c) => s + c.numTokens, 0), ctx.flags.enablePromptTokensDetails ? numCachedTokens : null);
    const chunk = (index: number, text: string, lp: CompletionLogprobs | null, c: ChoiceState) => ({
      id,
      object: 'text_completion',
      created,
      model: modelName,
      choices: [{ index, text, logprobs: lp, finish_reason: c.finishReason, stop_reason: c.stopReason }],
      ...(continuousUsage ? { usage: usage() } : {}),
    });

    reply.hijack();
    const sse = stream ? new SseWriter(reply.raw, { 'x-request-id': id }) : null;
    try {
      for await (const ev of events) {
        if (ev.kind === 'prompt') {
          numCachedTokens += ev.numCachedTokens;
          if (!echo) continue;
          const p = prompts[ev.promptIndex]!;
          const text = p.text ?? engine.tokenizer.decode(p.tokenIds, { skipSpecialTokens: false });
          for (let k = 0; k < n; k++) {
            const c = choices[ev.promptIndex * n + k]!;
            const before = c.logprobs === null ? null : c.logprobs.tokens.length;
            c.text += text;
            if (c.logprobs) {
              const entries = ev.promptLogprobs ?? p.tokenIds.map(() => null);
              c.offset = appendCompletionLogprobs(c.logprobs, entries, p.tokenIds, c.offset, ctx.tokens);
            } else c.offset += text.length;
            if (sse) await sse.send(chunk(ev.promptIndex * n + k, text, sliceLogprobs(c.logprobs, before), c));
          }
          continue;
        }
        const c = choices[ev.index]!;
        const before = c.logprobs === null ? null : c.logprobs.tokens.length;
        c.text += ev.text;
        c.numTokens += ev.tokenIds.length;
        if (c.logprobs && ev.logprobs) {
          appendCompletionLogprobs(c.logprobs, ev.logprobs, ev.tokenIds, c.offset, ctx.tokens);
        }
        c.offset += ev.text.length;
        if (ev.finishReason === 'error') throw new ApiError('internal', `The engine failed request ${id} while generating`);
        c.finishReason = ev.finishReason;
        c.stopReason = ev.stopReason;
        if (sse && (ev.text !== '' || ev.finishReason !== null || (c.logprobs && ev.tokenIds.length > 0))) {
          await sse.send(chunk(ev.index, ev.text, sliceLogprobs(c.logprobs, before), c));
        }
      }
      if (controller.signal.aborted) return;
      if (sse) {
        if (includeUsage) await sse.send({ id, object: 'text_completion', created, model: modelName, choices: [], usage: usage() });
        await sse.end();
        return;
      }
      const response = {
        id,
        object: 'text_completion',
        created,
        model: modelName,
        choices: choices.map((c, index) => ({
          index,
          text: c.text,
          logprobs: c.logprobs,
          finish_reason: c.finishReason,
          stop_reason: c.stopReason,
        })),
        usage: usage(),
      };
      sendJson(reply.raw, response, id);
    } catch (error) {
      if (controller.signal.aborted) return;
      await sendError(reply.raw, sse, error, ctx);
    }
  });
}

function sliceLogprobs(lp: CompletionLogprobs | null, from: number | null): CompletionLogprobs | null {
  if (lp === null || from === null) return null;
  return {
    text_offset: lp.text_offset.slice(from),
    token_logprobs: lp.token_logprobs.slice(from),
    tokens: lp.tokens.slice(from),
    top_logprobs: lp.top_logprobs.slice(from),
  };
}
