import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type VllmServer } from './create-server.js';
import { FakeEngine } from './test-support/fake-engine.js';

// Tool-call parsing through the real fastify app: the fake engine plays a scripted reply for each
// user message, so the exact chunks, messages and finish reasons can be pinned.

const WEATHER = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>';
const TIME = '<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>';
const SCRIPTS: Record<string, string> = {
  one: `Let me check.\n${WEATHER}`,
  two: `${WEATHER}\n${TIME}`,
  malformed: '<tool_call>\n{"name": "get_weather", "arguments": {"city": }\n</tool_call>',
  plain: 'It is sunny.',
  llama: '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_time", "parameters": {"tz": "UTC"}}',
  'llama-text': 'No tool is needed: {it} is fine.',
  late: 'Checking.<tool_call>{"arguments": {"city": "Paris"}, "name": "get_weather"}</tool_call> ok',
  quoted: '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"S\\u00e3o Paulo\\"}"}</tool_call>',
  'llama-late': '{"parameters": {"city": "Paris"}, "name": "get_weather"}',
};
const WEATHER_ARGS = '{"city": "Paris", "unit": "celsius"}';

/** The reply scripted for the prompt's last user message. */
function script(prompt: string): string | null {
  const users = [...prompt.matchAll(/<\|im_start\|>user\n([^<]*)<\|im_end\|>/g)];
  return SCRIPTS[users.at(-1)?.[1] ?? ''] ?? null;
}

const TOOLS = [
  {
    type: 'function' as const,
    function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
];

interface Served {
  server: VllmServer;
  base: string;
  client: OpenAI;
}

async function serve(options: { enableAutoToolChoice?: boolean; toolCallParser?: string }, scriptChunkChars = 4): Promise<Served> {
  const server = createServer({ engine: new FakeEngine({ script, scriptChunkChars }), ...options });
  const base = await server.listen({ port: 0 });
  return { server, base, client: new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

let hermes: Served;
let llama: Served;
let plain: Served;
beforeAll(async () => {
  hermes = await serve({ enableAutoToolChoice: true, toolCallParser: 'hermes' });
  llama = await serve({ enableAutoToolChoice: true, toolCallParser: 'llama3_json' });
  plain = await serve({});
});
afterAll(async () => {
  await Promise.all([hermes, llama, plain].map((s) => s.server.close({ drainTimeoutMs: 1000 })));
});

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'fake-model', messages: [{ role: 'user', content }], tools: TOOLS, max_tokens: 400, ...extra });

async function post(s: Served, body: unknown) {
  const res = await fetch(`${s.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

/** The `data:` events of a streamed reply, parsed, without the final `[DONE]` (checked). */
async function sse(s: Served, body: unknown): Promise<any[]> {
  const res = await fetch(`${s.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...(body as object), stream: true }) });
  const events = (await res.text()).split('\n\n').filter((e) => e !== '');
  expect(events.at(-1)).toBe('data: [DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
}

const ID = expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/);

/**
 * A streamed choice 0 reassembled as a client would, checking on the way that each call's head
 * (id, type, name) comes before its fragments and that heads are numbered 0, 1, ... in order.
 */
function reassemble(events: any[]): { content: string; calls: { id: string; name: string; arguments: string }[] } {
  let content = '';
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const e of events) {
    const delta = e.choices[0].delta;
    content += delta.content ?? '';
    for (const t of delta.tool_calls ?? []) {
      if (t.id !== undefined) {
        expect([t.index, t.type, typeof t.function.name]).toEqual([calls.length, 'function', 'string']);
        calls.push({ id: t.id, name: t.function.name, arguments: '' });
      }
      expect(calls[t.index]).toBeDefined();
      calls[t.index]!.arguments += t.function.arguments;
    }
  }
  return { content, calls };
}

describe('hermes, non-streaming', () => {
  it('returns the text before the call as content and the call in tool_calls', async () => {
    const r = await post(hermes, ask('one'));
    expect(r.status).toBe(200);
    expect(r.body.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: 'Let me check.\n', tool_calls: [{ id: ID, type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } }] },
        logprobs: null,
        finish_reason: 'tool_calls',
        stop_reason: null,
      },
    ]);
  });

  it('reads several calls with the openai client; content is null', async () => {
    const r = await hermes.client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'two' }], tools: TOOLS, tool_choice: 'auto' });
    const m = r.choices[0]!.message;
    expect(m.content).toBeNull();
    expect(m.tool_calls!.map((t) => (t.type === 'function' ? [t.function.name, JSON.parse(t.function.arguments)] : null))).toEqual([
      ['get_weather', { city: 'Paris', unit: 'celsius' }],
      ['get_time', { tz: 'Europe/Paris' }],
    ]);
    expect(new Set(m.tool_calls!.map((t) => t.id)).size).toBe(2);
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('returns malformed JSON inside the markup as content, finish_reason stop', async () => {
    const r = await post(hermes, ask('malformed'));
    expect(r.body.choices[0].message).toEqual({ role: 'assistant', content: SCRIPTS.malformed, tool_calls: [] });
    expect(r.body.choices[0].finish_reason).toBe('stop');
  });

  it('returns the arguments as the model wrote them, whatever the key order; a string value decoded', async () => {
    const late = await post(hermes, ask('late'));
    expect(late.body.choices[0].message).toEqual({ role: 'assistant', content: 'Checking. ok', tool_calls: [{ id: ID, type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] });
    const quoted = await post(hermes, ask('quoted'));
    expect(quoted.body.choices[0].message.tool_calls[0].function.arguments).toBe('{"city": "São Paulo"}');
  });

  it('leaves the output alone with tool_choice "none", or without tools', async () => {
    for (const body of [ask('one', { tool_choice: 'none' }), { messages: [{ role: 'user', content: 'one' }], max_tokens: 400 }]) {
      const r = await post(hermes, body);
      expect(r.body.choices[0].message).toEqual({ role: 'assistant', content: SCRIPTS.one });
      expect(r.body.choices[0].finish_reason).toBe('stop');
    }
  });

  it('takes a conversation with assistant tool_calls and tool results through the template', async () => {
    const r = await hermes.client.chat.completions.create({
      model: 'fake-model',
      tools: TOOLS,
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'chatcmpl-tool-1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'chatcmpl-tool-1', content: '{"temp": 21}' },
        { role: 'user', content: 'plain' },
      ],
    });
    expect(r.choices[0]!.message.content).toBe('It is sunny.');
    expect(r.choices[0]!.message.tool_calls).toEqual([]);
    expect(r.choices[0]!.finish_reason).toBe('stop');
  });
});

describe('hermes, streaming', () => {
  it('streams content, then the head as soon as the name is out, then the arguments as they are generated', async () => {
    const events = await sse(hermes, ask('one'));
    const deltas = events.map((e) => [e.choices[0].delta, e.choices[0].finish_reason]);
    const args = (a: string, finish: string | null = null) => [{ tool_calls: [{ index: 0, function: { arguments: a } }] }, finish];
    // 4 characters a step: the step that ends the name releases the head, and each step its new argument text.
    expect(deltas).toEqual([
      [{ role: 'assistant', content: '' }, null],
      [{ content: 'Let ' }, null],
      [{ content: 'me c' }, null],
      [{ content: 'heck' }, null],
      [{ content: '.\n' }, null],
      [{ tool_calls: [{ index: 0, id: ID, type: 'function', function: { name: 'get_weather', arguments: '' } }] }, null],
      args('{'),
      args('"cit'),
      args('y": '),
      args('"Par'),
      args('is",'),
      args(' "un'),
      args('it":'),
      args(' "ce'),
      args('lsiu'),
      args('s"}'),
      [{}, 'tool_calls'],
    ]);
    expect(events.every((e) => e.choices[0].stop_reason === null)).toBe(true);
  });

  it('parses each of n choices on its own, with its own ids', async () => {
    const events = await sse(hermes, ask('one', { n: 2 }));
    const heads = events.flatMap((e) => (e.choices[0].delta.tool_calls ?? []).filter((t: any) => t.id !== undefined).map((t: any) => [e.choices[0].index, t.id]));
    expect(heads.map(([i]: [number]) => i).sort()).toEqual([0, 1]);
    expect(new Set(heads.map(([, id]: [number, string]) => id)).size).toBe(2);
    for (const i of [0, 1]) {
      const mine = events.filter((e) => e.choices[0].index === i);
      expect(mine.map((e) => e.choices[0].delta.content ?? '').join('')).toBe('Let me check.\n');
      expect(mine.flatMap((e) => e.choices[0].delta.tool_calls ?? []).map((t: any) => t.function.arguments).join('')).toBe(WEATHER_ARGS);
      expect(mine.at(-1).choices[0].finish_reason).toBe('tool_calls');
    }
  });

  it('a block that breaks after its name was streamed cannot be taken back: the call keeps what was sent, no markup leaks', async () => {
    const events = await sse(hermes, ask('malformed'));
    const { content, calls } = reassemble(events);
    expect(content).toBe('');
    expect(calls).toEqual([{ id: ID, name: 'get_weather', arguments: '{"city": ' }]);
    expect(events.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it("the openai client's stream helper accumulates the tool_calls of the non-streamed reply", async () => {
    for (const user of ['one', 'two', 'late', 'quoted']) {
      const whole = await hermes.client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: user }], tools: TOOLS });
      const fragments: string[] = [];
      const stream = hermes.client.chat.completions.stream({ model: 'fake-model', messages: [{ role: 'user', content: user }], tools: TOOLS });
      stream.on('tool_calls.function.arguments.delta', (e) => fragments.push(e.arguments_delta));
      const final = await stream.finalChatCompletion();
      const calls = (m: typeof whole.choices[0]['message']) => m.tool_calls!.map((t) => (t.type === 'function' ? [t.function.name, t.function.arguments] : null));
      expect(calls(final.choices[0]!.message)).toEqual(calls(whole.choices[0]!.message));
      expect(final.choices[0]!.message.content ?? '').toBe(whole.choices[0]!.message.content ?? '');
      expect(final.choices[0]!.finish_reason).toBe('tool_calls');
      // Arguments after the name come in several fragments; before it (late) or as a string (quoted), at once.
      if (user === 'one' || user === 'two') expect(fragments.filter((f) => f !== '').length).toBeGreaterThan(2 * calls(whole.choices[0]!.message).length);
    }
  });
});

describe('streamed and whole replies agree, however the output is split into steps', () => {
  const cases: [string, string[]][] = [
    ['hermes', ['one', 'two', 'plain', 'late', 'quoted']],
    ['llama3_json', ['llama', 'llama-text', 'llama-late']],
  ];
  it.each(cases)('%s', async (parser, users) => {
    for (const chunk of [1, 2, 3, 5, 8, 13]) {
      const s = await serve({ enableAutoToolChoice: true, toolCallParser: parser }, chunk);
      try {
        for (const user of users) {
          const message = (await post(s, ask(user))).body.choices[0].message;
          const events = await sse(s, ask(user));
          const got = reassemble(events);
          expect({ content: got.content, calls: got.calls.map((c) => ({ name: c.name, arguments: c.arguments })) }).toEqual({
            content: message.content ?? '',
            calls: message.tool_calls.map((t: any) => ({ name: t.function.name, arguments: t.function.arguments })),
          });
        }
      } finally {
        await s.server.close({ drainTimeoutMs: 1000 });
      }
    }
  });
});

describe('llama3_json', () => {
  it('returns the calls, content null, non-streaming', async () => {
    const r = await llama.client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'llama' }], tools: TOOLS, tool_choice: 'auto' });
    expect(r.choices[0]!.message.content).toBeNull();
    expect(r.choices[0]!.message.tool_calls).toEqual([
      { id: ID, type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
      { id: ID, type: 'function', function: { name: 'get_time', arguments: '{"tz": "UTC"}' } },
    ]);
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('streams the calls, and nothing of the <|python_tag|> or the JSON as content', async () => {
    const events = await sse(llama, ask('llama'));
    expect(events[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(events.slice(1).some((e) => e.choices[0].delta.content !== undefined)).toBe(false);
    const kinds = events
      .slice(1)
      .map((e) => (e.choices[0].delta.tool_calls ?? []).map((t: any) => `${t.index}${t.id === undefined ? 'a' : 'n'}`).join(''))
      .join(' ');
    expect(kinds).toMatch(/^0n( 0a)+ 1n( 1a)+ ?$/);
    expect(reassemble(events).calls).toEqual([
      { id: ID, name: 'get_weather', arguments: '{"city": "Paris"}' },
      { id: ID, name: 'get_time', arguments: '{"tz": "UTC"}' },
    ]);
    expect(events.at(-1).choices[0].finish_reason).toBe('tool_calls');
    expect(events.slice(0, -1).every((e) => e.choices[0].finish_reason === null)).toBe(true);
  });

  it('passes text that is not a call through, both ways', async () => {
    const r = await post(llama, ask('llama-text'));
    expect(r.body.choices[0].message).toEqual({ role: 'assistant', content: SCRIPTS['llama-text'], tool_calls: [] });
    expect(r.body.choices[0].finish_reason).toBe('stop');
    const events = await sse(llama, ask('llama-text'));
    expect(events.map((e) => e.choices[0].delta.content).join('')).toBe(SCRIPTS['llama-text']);
    expect(events.at(-1).choices[0].finish_reason).toBe('stop');
  });
});

describe('tool_choice refusals', () => {
  const err = (message: string, type = 'invalid_request_error') => ({ error: { message, type, param: 'tool_choice', code: expect.any(String) } });
  const autoFlags = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set';

  it('"auto", explicit or implied by tools, needs the flags', async () => {
    expect(await post(plain, ask('one', { tool_choice: 'auto' }))).toEqual({ status: 400, body: err(autoFlags) });
    expect(await post(plain, ask('one'))).toEqual({ status: 400, body: err(autoFlags) });
    expect((await post(plain, ask('one', { tool_choice: 'none' }))).body.choices[0].message.content).toBe(SCRIPTS.one);
  });

  it('"required" and named tools need guided decoding', async () => {
    const r = await post(hermes, ask('one', { tool_choice: 'required' }));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe(
      'tool_choice "required" needs guided decoding, which this server does not have: this server supports tool_choice "none", and "auto" when started with --enable-auto-tool-choice --tool-call-parser',
    );
    const named = await post(hermes, ask('one', { tool_choice: { type: 'function', function: { name: 'get_weather' } } }));
    expect(named.status).toBe(400);
    expect(named.body.error.message).toMatch(/^a named tool_choice \(\{"type":"function","function":\{"name":"get_weather"\}\}\) needs guided decoding/);
  });

  it('refuses a tool_choice without tools, and a value that is no tool_choice', async () => {
    expect(await post(hermes, { messages: [{ role: 'user', content: 'one' }], tool_choice: 'auto' })).toEqual({ status: 400, body: err('When using `tool_choice`, `tools` must be set.') });
    const r = await post(hermes, ask('one', { tool_choice: 'sometimes' }));
    expect(r).toEqual({ status: 400, body: err('tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}} (got "sometimes")') });
  });
});

describe('createServer options', () => {
  it('refuses enableAutoToolChoice without a parser, and an unknown parser', () => {
    const engine = new FakeEngine();
    expect(() => createServer({ engine, enableAutoToolChoice: true })).toThrow(/--enable-auto-tool-choice requires --tool-call-parser/);
    expect(() => createServer({ engine, toolCallParser: 'mistral' })).toThrow('ServerOptions.toolCallParser must be one of "hermes", "llama3_json" (got "mistral")');
  });
});
