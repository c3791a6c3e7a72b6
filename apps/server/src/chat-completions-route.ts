import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { streamChoices } from './choice-stream.js';
import { ApiError } from './errors.js';
import { sendError, sendJson } from './hijacked-response.js';
import { chatLogprobEntries, type ChatLogprobEntry } from './logprobs-format.js';
import { renderChat } from './prompt-input.js';
import { ChatCompletionRequestSchema } from './request-schemas.js';
import { compileValidator } from './request-validator.js';
import { resolveMaxTokens, samplingParamsFromRequest } from './sampling-params-from-request.js';
import type { ServerContext } from './server-context.js';
import { SseWriter } from './sse-writer.js';
import { resolveToolParser } from './tool-choice.js';
import type { StreamingDelta, StreamingToolParser } from './tool-parsers/tool-parser.js';
import { makeUsage, type Usage } from './usage.js';

interface ChoiceState {
  content: string;
  numTokens: number;
  logprobs: ChatLogprobEntry[] | null;
  finishReason: string | null;
  stopReason: number | string | null;
  /** The tool-call state of a streamed choice whose output is parsed for calls. */
  stream: StreamingToolParser | null;
}

/**
 * `POST /v1/chat/completions`: the prompt is the model's chat template over `messages`.
 * @param app the fastify instance
 * @param ctx the shared server state
 */
export function registerChatCompletionsRoute(app: FastifyInstance, ctx: ServerContext): void {
  const validate = compileValidator(ChatCompletionRequestSchema);
  app.post('/v1/chat/completions', async (request, reply) => {
    const body = validate(request.body);
    const { engine, modelName } = ctx.acquire(body.model);
    const toolParser = resolveToolParser(body.tools, body.tool_choice, ctx.autoToolParser);
    if (body.top_logprobs != null && body.logprobs !== true) {
      throw new ApiError('invalid_request', 'top_logprobs needs logprobs to be true', 'top_logprobs');
    }
    const prompt = renderChat(body.messages, engine.tokenizer, {
      addGenerationPrompt: body.add_generation_prompt ?? null,
      continueFinalMessage: body.continue_final_message ?? null,
      tools: body.tools ?? null,
      chatTemplateKwargs: body.chat_template_kwargs ?? null,
    });
    const requested = body.max_completion_tokens ?? body.max_tokens ?? null;
    const maxTokens = resolveMaxTokens(
      {
        promptTokens: prompt.tokenIds.length,
        requestedMaxTokens: requested,
        defaultMaxTokens: ctx.generationDefaults.params.maxTokens ?? null,
        param: body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
        promptParam: 'messages',
        maxTokensCap: ctx.generationDefaults.maxTokensCap,
      },
      engine.config.maxModelLen,
    );
    const topLogprobs = body.logprobs === true ? (body.top_logprobs ?? 0) : null;
    const params = samplingParamsFromRequest(body, maxTokens, topLogprobs, ctx);
    const id = body.request_id ?? `chatcmpl-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    const n = params.n;
    // vLLM's `echo`: the reply starts with the final assistant message it continues.
    const last = body.messages[body.messages.length - 1]!;
    const echo = body.echo === true && last.role === 'assistant' && typeof last.content === 'string' ? last.content : '';
    ctx.logRequest(id, prompt.tokenIds.length, params);
    const choices: ChoiceState[] = Array.from({ length: n }, () => ({
      content: echo,
      numTokens: 0,
      logprobs: topLogprobs === null ? null : [],
      finishReason: null,
      stopReason: null,
      stream: toolParser !== null && body.stream === true ? toolParser.createStream() : null,
    }));
    let numCachedTokens = 0;
    const controller = ctx.abortOnDisconnect(reply);
    const events = streamChoices(engine, [prompt], params, id, {
      signal: controller.signal,
      ...(body.priority == null ? {} : { priority: body.priority }),
    });
    const stream = body.stream === true;
    const includeUsage = stream && (body.stream_options?.include_usage === true || ctx.flags.enableForceIncludeUsage);
    const continuousUsage = stream && body.stream_options?.continuous_usage_stats === true;
    const usage = (): Usage =>
      makeUsage(
        prompt.tokenIds.length,
        choices.reduce((s, c) => s + c.numTokens, 0),
        ctx.flags.enablePromptTokensDetails ? numCachedTokens : null,
      );
    const chunk = (index: number, delta: Record<string, unknown>, lp: ChatLogprobEntry[] | null, c: ChoiceState | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: modelName,
      choices: [
        {
          index,
          delta,
          logprobs: lp === null ? null : { content: lp },
          finish_reason: c?.finishReason ?? null,
          stop_reason: c?.stopReason ?? null,
        },
      ],
      ...(continuousUsage ? { usage: usage() } : {}),
    });

    /** One chunk per delta; the logprobs ride on the first, the finish reason on the last. */
    const sendDeltas = async (sink: SseWriter, index: number, deltas: StreamingDelta[], lp: ChatLogprobEntry[] | null, c: ChoiceState) => {
      const done = c.finishReason !== null;
      if (deltas.length === 0 && (done || (lp !== null && lp.length > 0))) deltas = [{ content: '' }];
      for (const [k, d] of deltas.entries()) {
        const delta = 'content' in d ? (d.content === '' ? {} : { content: d.content }) : { tool_calls: [d.toolCall] };
        await sink.send(chunk(index, delta, k === 0 ? lp : null, k === deltas.length - 1 ? c : null));
      }
    };

    reply.hijack();
    const sse = stream ? new SseWriter(reply.raw, { 'x-request-id': id }) : null;
    try {
      let started = false;
      for await (const ev of events) {
        // As in vLLM, each choice's role chunk goes out with the engine's first output.
        if (sse && !started) for (let i = 0; i < n; i++) await sse.send(chunk(i, { role: 'assistant', content: echo }, null, null));
        started = true;
        if (ev.kind === 'prompt') {
          numCachedTokens += ev.numCachedTokens;
          continue;
        }
        const c = choices[ev.index]!;
        c.content += ev.text;
        c.numTokens += ev.tokenIds.length;
        const lp = c.logprobs && ev.logprobs ? chatLogprobEntries(ev.logprobs, topLogprobs ?? 0, ctx.tokens) : null;
        if (lp) c.logprobs!.push(...lp);
        if (ev.finishReason === 'error') throw new ApiError('internal', `The engine failed request ${id} while generating`);
        c.finishReason = ev.finishReason;
        c.stopReason = ev.stopReason;
        if (sse && c.stream !== null) {
          const deltas = c.stream.push(ev.text);
          if (ev.finishReason !== null) {
            deltas.push(...c.stream.finish());
            // As vLLM's auto tool choice: a choice that made calls ends with "tool_calls".
            if (c.stream.numToolCalls > 0) c.finishReason = 'tool_calls';
          }
          await sendDeltas(sse, ev.index, deltas, lp, c);
        } else if (sse && (ev.text !== '' || ev.finishReason !== null || (lp !== null && lp.length > 0))) {
          await sse.send(chunk(ev.index, ev.text === '' ? {} : { content: ev.text }, lp, c));
        }
      }
      if (controller.signal.aborted) return;
      if (sse) {
        if (includeUsage) await sse.send({ id, object: 'chat.completion.chunk', created, model: modelName, choices: [], usage: usage() });
        await sse.end();
        return;
      }
      sendJson(
        reply.raw,
        {
          id,
          object: 'chat.completion',
          created,
          model: modelName,
          choices: choices.map((c, index) => {
            const parsed = toolParser?.extractToolCalls(c.content) ?? null;
            const called = parsed !== null && parsed.toolCalls.length > 0;
            const message =
              parsed === null
                ? { role: 'assistant', content: c.content }
                : {
                    role: 'assistant',
                    content: parsed.content,
                    tool_calls: parsed.toolCalls.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.arguments } })),
                  };
            return {
              index,
              message,
              logprobs: c.logprobs === null ? null : { content: c.logprobs },
              finish_reason: called ? 'tool_calls' : c.finishReason,
              stop_reason: c.stopReason,
            };
          }),
          usage: usage(),
        },
        id,
      );
    } catch (error) {
      if (controller.signal.aborted) return;
      await sendError(reply.raw, sse, error, ctx);
    }
  });
}
