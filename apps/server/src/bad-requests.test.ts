import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type VllmServer } from './create-server.js';
import { FakeEngine } from './test-support/fake-engine.js';

// Each malformed request gets its status, OpenAI error type, the field at fault and a message
// saying what was wrong; after all of them the server still answers a good request.

let server: VllmServer;
let base: string;
const KEY = 'sk-test-key';

beforeAll(async () => {
  server = createServer({ engine: new FakeEngine({ maxModelLen: 64 }), apiKeys: [KEY], bodyLimit: 1024 * 1024 });
  base = await server.listen({ port: 0 });
});
afterAll(async () => {
  await server.close({ drainTimeoutMs: 1000 });
});

const chat = (extra: Record<string, unknown>) => ({ messages: [{ role: 'user', content: 'hi' }], ...extra });
const cmpl = (extra: Record<string, unknown>) => ({ prompt: 'hi', ...extra });
const C = '/v1/completions';
const CHAT = '/v1/chat/completions';

interface Case {
  name: string;
  path: string;
  body: unknown;
  status: number;
  param?: string | null;
  message: RegExp;
  headers?: Record<string, string>;
}

const cases: Case[] = [
  { name: 'invalid JSON', path: CHAT, body: '{"messages": [', status: 400, message: /not valid JSON/ },
  { name: 'empty JSON body', path: CHAT, body: '', status: 400, message: /cannot be empty/ },
  { name: 'body not an object', path: CHAT, body: '[1,2]', status: 400, message: /must be a JSON object/ },
  { name: 'missing messages', path: CHAT, body: {}, status: 400, param: 'messages', message: /^messages is required$/ },
  { name: 'empty messages', path: CHAT, body: { messages: [] }, status: 400, param: 'messages', message: /non-empty array of messages \(got \[\]\)/ },
  { name: 'messages not an array', path: CHAT, body: { messages: 'hi' }, status: 400, param: 'messages', message: /non-empty array/ },
  { name: 'unknown role', path: CHAT, body: { messages: [{ role: 'bot', content: 'x' }] }, status: 400, param: 'messages[0].role', message: /one of "system".*\(got "bot"\)/ },
  { name: 'missing role', path: CHAT, body: { messages: [{ content: 'x' }] }, status: 400, param: 'messages[0].role', message: /role is required/ },
  { name: 'content of wrong type', path: CHAT, body: { messages: [{ role: 'user', content: 5 }] }, status: 400, param: 'messages[0].content', message: /\(got 5\)/ },
  { name: 'null user content', path: CHAT, body: { messages: [{ role: 'user', content: null }] }, status: 400, param: 'messages[0].content', message: /got null/ },
  { name: 'image content part', path: CHAT, body: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, status: 400, param: 'messages[0].content[0].type', message: /text-only/ },
  { name: 'temperature < 0', path: CHAT, body: chat({ temperature: -0.5 }), status: 400, param: 'temperature', message: /temperature must be a number >= 0 \(got -0.5\)/ },
  { name: 'temperature a string', path: C, body: cmpl({ temperature: 'hot' }), status: 400, param: 'temperature', message: /got "hot"/ },
  { name: 'top_p > 1', path: CHAT, body: chat({ top_p: 1.5 }), status: 400, param: 'top_p', message: /top_p must be a number in \(0, 1\] \(got 1.5\)/ },
  { name: 'top_p = 0', path: C, body: cmpl({ top_p: 0 }), status: 400, param: 'top_p', message: /\(got 0\)/ },
  { name: 'top_k < -1', path: C, body: cmpl({ top_k: -2 }), status: 400, param: 'top_k', message: /top_k must be/ },
  { name: 'min_p > 1', path: C, body: cmpl({ min_p: 2 }), status: 400, param: 'min_p', message: /\[0, 1\]/ },
  { name: 'presence_penalty out of range', path: CHAT, body: chat({ presence_penalty: 3 }), status: 400, param: 'presence_penalty', message: /\[-2, 2\]/ },
  { name: 'repetition_penalty 0', path: C, body: cmpl({ repetition_penalty: 0 }), status: 400, param: 'repetition_penalty', message: /> 0/ },
  { name: 'negative max_tokens', path: C, body: cmpl({ max_tokens: -1 }), status: 400, param: 'max_tokens', message: /max_tokens must be an integer >= 1 \(got -1\)/ },
  { name: 'fractional max_tokens', path: C, body: cmpl({ max_tokens: 2.5 }), status: 400, param: 'max_tokens', message: /integer/ },
  { name: 'huge max_tokens', path: C, body: cmpl({ max_tokens: 1_000_000 }), status: 400, param: 'max_tokens', message: /maximum context length is 64 tokens.*1000002 tokens \(2 in the prompt, 1000000 in the completion\)/ },
  { name: 'huge max_completion_tokens', path: CHAT, body: chat({ max_completion_tokens: 100 }), status: 400, param: 'max_completion_tokens', message: /maximum context length is 64 tokens/ },
  { name: 'prompt longer than the model', path: C, body: cmpl({ prompt: 'x'.repeat(100) }), status: 400, param: 'prompt', message: /maximum context length is 64 tokens.*100 input tokens/ },
  { name: 'n = 0', path: C, body: cmpl({ n: 0 }), status: 400, param: 'n', message: /\[1, 1024\]/ },
  { name: 'stop of wrong type', path: C, body: cmpl({ stop: [1] }), status: 400, param: 'stop', message: /string or an array of strings/ },
  { name: 'empty stop string', path: C, body: cmpl({ stop: ['ok', ''] }), status: 400, param: 'stop[1]', message: /non-empty/ },
  { name: 'stop_token_ids negative', path: C, body: cmpl({ stop_token_ids: [-3] }), status: 400, param: 'stop_token_ids', message: /token ids/ },
  { name: 'seed not an integer', path: C, body: cmpl({ seed: 'abc' }), status: 400, param: 'seed', message: /an integer/ },
  { name: 'min_tokens > max_tokens', path: C, body: cmpl({ min_tokens: 10, max_tokens: 5 }), status: 400, param: 'min_tokens', message: /at most max_tokens \(5\)/ },
  { name: 'logprobs above the limit', path: C, body: cmpl({ logprobs: 50 }), status: 400, param: 'logprobs', message: /\[0, 20\] \(got 50\)/ },
  { name: 'top_logprobs without logprobs', path: CHAT, body: chat({ top_logprobs: 2 }), status: 400, param: 'top_logprobs', message: /logprobs to be true/ },
  { name: 'logprobs not a boolean in chat', path: CHAT, body: chat({ logprobs: 3 }), status: 400, param: 'logprobs', message: /a boolean/ },
  { name: 'stream_options without stream', path: CHAT, body: chat({ stream_options: { include_usage: true } }), status: 400, param: 'stream_options', message: /stream is true/ },
  { name: 'prompt missing', path: C, body: {}, status: 400, param: 'prompt', message: /prompt is required/ },
  { name: 'empty prompt list', path: C, body: { prompt: [] }, status: 400, param: 'prompt', message: /non-empty/ },
  { name: 'empty prompt string', path: C, body: { prompt: '' }, status: 400, param: 'prompt', message: /empty/ },
  { name: 'token id out of vocabulary', path: C, body: { prompt: [1, 2, 99999] }, status: 400, param: 'prompt[2]', message: /\[0, 258\] \(got 99999\).*vocabulary/ },
  { name: 'token id out of vocabulary, batch', path: C, body: { prompt: [[1], [300]] }, status: 400, param: 'prompt[1][0]', message: /got 300/ },
  { name: 'negative token id', path: C, body: { prompt: [-1] }, status: 400, param: 'prompt', message: /token ids/ },
  { name: 'logit_bias value not a number', path: C, body: cmpl({ logit_bias: { '5': 'high' } }), status: 400, param: 'logit_bias', message: /mapping token ids to numbers.*"high"/ },
  { name: 'logit_bias not an object', path: CHAT, body: chat({ logit_bias: [1, 2] }), status: 400, param: 'logit_bias', message: /mapping token ids to numbers/ },
  { name: 'logit_bias key not an integer', path: C, body: cmpl({ logit_bias: { '1.5': 10 } }), status: 400, param: 'logit_bias', message: /^logit_bias keys must be token ids: integers, or strings of integers \(got "1.5"\)$/ },
  { name: 'logit_bias id outside the vocabulary', path: CHAT, body: chat({ logit_bias: { '5': 1, '300': 2, '-1': 3 } }), status: 400, param: 'logit_bias', message: /^token_id\(s\) \[300, -1\] in logit_bias contain out-of-vocab token ids\. Vocabulary size: 259$/ },
  { name: 'allowed_token_ids empty', path: C, body: cmpl({ allowed_token_ids: [] }), status: 400, param: 'allowed_token_ids', message: /non-empty array of token ids/ },
  { name: 'allowed_token_ids outside the vocabulary', path: C, body: cmpl({ allowed_token_ids: [97, 259] }), status: 400, param: 'allowed_token_ids', message: /\[259\] in allowed_token_ids contain out-of-vocab token ids\. Vocabulary size: 259/ },
  { name: 'unsupported response_format', path: CHAT, body: chat({ response_format: { type: 'json_object' } }), status: 400, param: 'response_format.type', message: /structured outputs/ },
  { name: 'auto tool_choice without the flags', path: CHAT, body: chat({ tool_choice: 'auto', tools: [] }), status: 400, param: 'tool_choice', message: /^"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set$/ },
  { name: 'unsupported suffix', path: C, body: cmpl({ suffix: 'end' }), status: 400, param: 'suffix', message: /suffix/ },
  { name: 'best_of above n', path: C, body: cmpl({ best_of: 3 }), status: 400, param: 'best_of', message: /best_of must equal n/ },
  { name: 'continue_final_message after a user turn', path: CHAT, body: chat({ continue_final_message: true, add_generation_prompt: false }), status: 400, param: 'messages[0].role', message: /assistant/ },
  { name: 'chat template failure', path: CHAT, body: { messages: [{ role: 'tool', content: 'explode' }] }, status: 400, param: 'messages', message: /chat template failed/ },
  { name: 'unknown model', path: CHAT, body: chat({ model: 'gpt-4' }), status: 404, param: 'model', message: /`gpt-4` does not exist/ },
  { name: 'unknown route', path: '/v1/nothing', body: {}, status: 404, message: /No route POST \/v1\/nothing/ },
  { name: 'missing API key', path: CHAT, body: chat({}), status: 401, headers: { authorization: '' }, message: /Missing API key/ },
  { name: 'wrong API key', path: CHAT, body: chat({}), status: 401, headers: { authorization: 'Bearer sk-wrong' }, message: /Incorrect API key/ },
  { name: 'API key prefix only', path: CHAT, body: chat({}), status: 401, headers: { authorization: `Bearer ${KEY.slice(0, -1)}` }, message: /Incorrect API key/ },
  { name: '10 MB body', path: CHAT, body: chat({ user: 'x'.repeat(10 * 1024 * 1024) }), status: 413, message: /larger than the server accepts/ },
];

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
};

describe('malformed requests', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name -> $status', async (c) => {
    const res = await fetch(`${base}${c.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...c.headers },
      body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
    });
    const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
    expect(res.status).toBe(c.status);
    expect(body.error.type).toBe(TYPES[c.status]);
    expect(body.error.message).toMatch(c.message);
    if (c.param !== undefined) expect(body.error.param).toBe(c.param);
    expect(typeof body.error.code).toBe('string');
  });

  it('keeps serving after all of them', async () => {
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ prompt: 'ab', max_tokens: 3, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { text: string }[] }).choices[0]!.text).toBe('cde');
  });

  it('leaves health, metrics and tokenizer routes open without a key', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/v1/models`)).status).toBe(401);
  });
});
