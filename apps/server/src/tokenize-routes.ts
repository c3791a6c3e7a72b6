import type { FastifyInstance } from 'fastify';
import { checkTokenIds, renderChat } from './prompt-input.js';
import { DetokenizeRequestSchema, TokenizeRequestSchema } from './request-schemas.js';
import { compileValidator } from './request-validator.js';
import { ApiError } from './errors.js';
import type { ServerContext } from './server-context.js';

/**
 * `POST /tokenize` and `POST /detokenize`, vLLM's tokenizer endpoints.
 * @param app the fastify instance
 * @param ctx the shared server state
 */
export function registerTokenizeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const validateTokenize = compileValidator(TokenizeRequestSchema);
  const validateDetokenize = compileValidator(DetokenizeRequestSchema);

  app.post('/tokenize', async (request) => {
    const body = validateTokenize(request.body);
    const { engine } = ctx.acquire(body.model);
    let tokens: number[];
    if (body.messages != null) {
      if (body.prompt != null) throw new ApiError('invalid_request', 'Send either prompt or messages, not both', 'prompt');
      tokens = renderChat(body.messages, engine.tokenizer, {
        addGenerationPrompt: body.add_generation_prompt ?? null,
        continueFinalMessage: body.continue_final_message ?? null,
        tools: body.tools ?? null,
        chatTemplateKwargs: body.chat_template_kwargs ?? null,
      }).tokenIds;
    } else if (body.prompt != null) {
      tokens = engine.tokenizer.encode(body.prompt, { addSpecialTokens: body.add_special_tokens ?? true });
    } else {
      throw new ApiError('invalid_request', 'prompt or messages is required', 'prompt');
    }
    return {
      count: tokens.length,
      max_model_len: engine.config.maxModelLen,
      tokens,
      ...(body.return_token_strs ? { token_strs: tokens.map((t) => ctx.tokens.text(t)) } : {}),
    };
  });

  app.post('/detokenize', async (request) => {
    const body = validateDetokenize(request.body);
    const { engine } = ctx.acquire(body.model);
    checkTokenIds(body.tokens, engine.tokenizer.vocabSize, 'tokens');
    return { prompt: engine.tokenizer.decode(body.tokens) };
  });
}
