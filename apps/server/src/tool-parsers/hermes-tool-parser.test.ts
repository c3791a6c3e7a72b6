import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hermesToolParser as hermes } from './hermes-tool-parser.js';
import { streamAgreesWithExtract, streamIn, streamPieces, streamSameAtEverySplit } from '../test-support/stream-tool-parser.js';

const weather = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>';
const time = '<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>';
const WEATHER_ARGS = '{"city": "Paris", "unit": "celsius"}';

describe('hermes, whole output', () => {
  it('returns plain text as content', () => {
    expect(hermes.extractToolCalls('Hello there')).toEqual({ content: 'Hello there', toolCalls: [] });
  });

  it('extracts one call with the arguments as the model wrote them and a vLLM-style id', () => {
    const r = hermes.extractToolCalls(weather);
    expect(r.content).toBeNull();
    expect(r.toolCalls).toEqual([{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), name: 'get_weather', arguments: WEATHER_ARGS }]);
  });

  it('extracts several calls, keeps text before them, drops whitespace between them', () => {
    const r = hermes.extractToolCalls(`Let me check.\n${weather}\n${time}`);
    expect(r.content).toBe('Let me check.\n');
    expect(r.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ['get_weather', WEATHER_ARGS],
      ['get_time', '{"tz": "Europe/Paris"}'],
    ]);
    expect(r.toolCalls[0]!.id).not.toBe(r.toolCalls[1]!.id);
  });

  it('keeps words between and after calls', () => {
    const r = hermes.extractToolCalls(`${weather} and then ${time}\nDone.`);
    expect(r.content).toBe(' and then \nDone.');
    expect(r.toolCalls).toHaveLength(2);
  });

  it('takes a block left open at the end when its JSON is whole, and a </tool_call> inside a string as text', () => {
    expect(hermes.extractToolCalls('<tool_call>{"name": "f", "arguments": {}}').toolCalls.map((c) => c.arguments)).toEqual(['{}']);
    expect(hermes.extractToolCalls('<tool_call>{"name": "f", "arguments": {"s": "a</tool_call>b"}}').toolCalls.map((c) => c.arguments)).toEqual(['{"s": "a</tool_call>b"}']);
  });

  it('returns the whole output as content when a block is malformed', () => {
    for (const text of [
      '<tool_call>{"name": "f", "arguments": {</tool_call>',
      `${weather}<tool_call>not json</tool_call>`,
      '<tool_call>{"arguments": {}}</tool_call>',
      '<tool_call>["f"]</tool_call>',
      '<tool_call>{"name": "f"} junk</tool_call>',
      'a <tool_call>',
    ]) {
      expect(hermes.extractToolCalls(text)).toEqual({ content: text, toolCalls: [] });
    }
  });

  it('accepts "parameters", arguments given as a JSON string, and a call without arguments', () => {
    const r = hermes.extractToolCalls('<tool_call>{"name": "a", "parameters": {"x": [1, 2]}}</tool_call><tool_call>{"name": "b", "arguments": "{\\"y\\": 1}"}</tool_call><tool_call>{"name": "c"}</tool_call>');
    expect(r.toolCalls.map((c) => c.arguments)).toEqual(['{"x": [1, 2]}', '{"y": 1}', '{}']);
  });
});

describe('hermes, streamed', () => {
  it('releases the head as soon as the name is read, then the arguments as they are generated', () => {
    const r = streamIn(hermes, `Sure.${weather}`, 1);
    expect(r.content).toBe('Sure.');
    expect(r.shape).toBe('ccccc' + 'n' + 'a'.repeat(WEATHER_ARGS.length));
    expect(r.calls).toEqual([{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), name: 'get_weather', arguments: WEATHER_ARGS }]);
  });

  it('sends exact deltas for pieces as a model would generate them', () => {
    const s = hermes.createStream();
    expect(s.push('Ok <tool')).toEqual([{ content: 'Ok ' }]);
    expect(s.push('_call>\n{"name": "get_')).toEqual([]);
    const head = s.push('weather", "arguments": {"ci');
    expect(head).toEqual([
      { toolCall: { index: 0, id: expect.stringMatching(/^chatcmpl-tool-/), type: 'function', function: { name: 'get_weather', arguments: '' } } },
      { toolCall: { index: 0, function: { arguments: '{"ci' } } },
    ]);
    expect(s.push('ty": "Paris"}}\n</tool_call>\n<tool_call>{"name": "f", "arguments": 1')).toEqual([
      { toolCall: { index: 0, function: { arguments: 'ty": "Paris"}' } } },
      { toolCall: { index: 1, id: expect.stringMatching(/^chatcmpl-tool-/), type: 'function', function: { name: 'f', arguments: '' } } },
      { toolCall: { index: 1, function: { arguments: '1' } } },
    ]);
    expect(s.push('2}</tool_call>')).toEqual([{ toolCall: { index: 1, function: { arguments: '2' } } }]);
    expect(s.finish()).toEqual([]);
    expect([s.numToolCalls, s.malformed]).toEqual([2, false]);
  });

  it('holds back a possible start of markup until it is decided', () => {
    const s = hermes.createStream();
    expect(s.push('a <tool')).toEqual([{ content: 'a ' }]);
    expect(s.push('_cal')).toEqual([]);
    expect(s.push('m')).toEqual([{ content: '<tool_calm' }]);
    expect(s.finish()).toEqual([]);
  });

  it('agrees with the whole-output parse at every split', () => {
    const cases = [
      'no calls at all, just < and <tool text',
      weather,
      `Let me check.\n${weather}\n${time}\n`,
      `${weather} and then ${time}\nDone.`,
      '<tool_call>{"name": "f", "arguments": {"s": "a</tool_call>b"}}',
      '<tool_call>{"name": "f", "arguments": {"s": "héllo \\u00e9 \\"q\\""}}</tool_call>',
      '<tool_call>{"arguments": {"a": [true, null, -1.5e3]}, "name": "late"}</tool_call>',
      '<tool_call>{"name": "s", "arguments": "{\\"y\\": \\"\\u00e9\\"}"}</tool_call>',
      'text ending in <tool_ca',
      '<tool_call>{"name": oops}</tool_call> then text',
      '<tool_call>{"arguments": {"a": 1}}</tool_call>',
    ];
    for (const text of cases) streamAgreesWithExtract(hermes, text);
    expect(streamAgreesWithExtract(hermes, '<tool_call>{"arguments": {"a": 1}, "name": "late"}</tool_call>').calls).toEqual([{ name: 'late', arguments: '{"a": 1}' }]);
  });

  it('streams a block that breaks before its name as content, with all that follows', () => {
    const text = `x<tool_call>{"name": oops}</tool_call>${weather}`;
    expect(streamAgreesWithExtract(hermes, text)).toEqual({ content: text, calls: [] });
  });

  it('cannot take back a call once its head is out: it keeps what was streamed, the broken rest of its block is dropped', () => {
    const r = streamSameAtEverySplit(hermes, `A<tool_call>{"name": "f", "arguments": {"city": }\n</tool_call> B ${time}`);
    expect(r).toMatchObject({ content: 'A B ', malformed: true, calls: [{ name: 'f', arguments: '{"city": ' }, { name: 'get_time', arguments: '{"tz": "Europe/Paris"}' }] });
    expect(hermes.extractToolCalls(`A<tool_call>{"name": "f", "arguments": {"city": }\n</tool_call>`).toolCalls).toEqual([]);
  });

  it('after a call, a broken block is dropped up to its </tool_call>; an output cut off mid-call keeps the call', () => {
    expect(streamSameAtEverySplit(hermes, `${weather}<tool_call>not json</tool_call>after`)).toMatchObject({ content: 'after', malformed: true, calls: [{ name: 'get_weather' }] });
    expect(streamSameAtEverySplit(hermes, '<tool_call>{"name": "f", "arguments": {"q": "par')).toMatchObject({ content: '', malformed: true, calls: [{ name: 'f', arguments: '{"q": "par' }] });
  });

  it('streams any JSON arguments, split anywhere, to exactly the extracted arguments', () => {
    fc.assert(
      fc.property(fc.json(), fc.string({ maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 30 }), (args, before, sizes) => {
        const text = `${before.replaceAll('<', '(')}<tool_call>\n{"name": "f", "arguments": ${args}}\n</tool_call>`;
        const pieces: string[] = [];
        for (let i = 0, k = 0; i < text.length; k++) {
          const n = sizes[k % sizes.length]!;
          pieces.push(text.slice(i, i + n));
          i += n;
        }
        const whole = hermes.extractToolCalls(text);
        const got = streamPieces(hermes, pieces);
        expect(whole.toolCalls.map((c) => c.arguments)).toEqual([typeof JSON.parse(args) === 'string' ? JSON.parse(args) : args.trim()]);
        expect(got.calls.map((c) => c.arguments)).toEqual(whole.toolCalls.map((c) => c.arguments));
        expect(got.content).toBe(whole.content ?? '');
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
