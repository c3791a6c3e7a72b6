import { describe, expect, it } from 'vitest';
import { hermesToolParser as hermes } from './hermes-tool-parser.js';
import { streamAgreesWithExtract, streamIn } from '../test-support/stream-tool-parser.js';

const weather = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>';
const time = '<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>';

describe('hermes, whole output', () => {
  it('returns plain text as content', () => {
    expect(hermes.extractToolCalls('Hello there')).toEqual({ content: 'Hello there', toolCalls: [] });
  });

  it('extracts one call with compact JSON arguments and a vLLM-style id', () => {
    const r = hermes.extractToolCalls(weather);
    expect(r.content).toBeNull();
    expect(r.toolCalls).toEqual([{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }]);
  });

  it('extracts several calls, keeps text before them, drops whitespace between them', () => {
    const r = hermes.extractToolCalls(`Let me check.\n${weather}\n${time}`);
    expect(r.content).toBe('Let me check.\n');
    expect(r.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ['get_weather', '{"city":"Paris","unit":"celsius"}'],
      ['get_time', '{"tz":"Europe/Paris"}'],
    ]);
    expect(r.toolCalls[0]!.id).not.toBe(r.toolCalls[1]!.id);
  });

  it('keeps words between and after calls', () => {
    const r = hermes.extractToolCalls(`${weather} and then ${time}\nDone.`);
    expect(r.content).toBe(' and then \nDone.');
    expect(r.toolCalls).toHaveLength(2);
  });

  it('takes a block left open at the end when its JSON is whole', () => {
    expect(hermes.extractToolCalls('<tool_call>{"name": "f", "arguments": {}}').toolCalls.map((c) => c.arguments)).toEqual(['{}']);
  });

  it('returns the whole output as content when a block is malformed', () => {
    for (const text of ['<tool_call>{"name": "f", "arguments": {</tool_call>', `${weather}<tool_call>not json</tool_call>`, '<tool_call>{"arguments": {}}</tool_call>', '<tool_call>["f"]</tool_call>']) {
      expect(hermes.extractToolCalls(text)).toEqual({ content: text, toolCalls: [] });
    }
  });

  it('accepts "parameters" and arguments already given as a JSON string', () => {
    const r = hermes.extractToolCalls('<tool_call>{"name": "a", "parameters": {"x": [1, 2]}}</tool_call><tool_call>{"name": "b", "arguments": "{\\"y\\": 1}"}</tool_call>');
    expect(r.toolCalls.map((c) => c.arguments)).toEqual(['{"x":[1,2]}', '{"y": 1}']);
  });
});

describe('hermes, streamed', () => {
  it('releases the name first, then the arguments, and never the markup', () => {
    const r = streamIn(hermes, `Sure.${weather}`, 1);
    expect(r.content).toBe('Sure.');
    expect(r.shape).toBe('ccccc' + 'na');
    expect(r.calls).toEqual([{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }]);
  });

  it('holds back a possible start of markup until it is decided', () => {
    const s = hermes.createStream();
    expect(s.push('a <tool')).toEqual([{ content: 'a ' }]);
    expect(s.push('_cal')).toEqual([]);
    expect(s.push('m')).toEqual([{ content: '<tool_calm' }]);
    expect(s.finish()).toEqual([]);
  });

  it('agrees with the whole-output parse at every piece size', () => {
    const cases = [
      'no calls at all, just < and <tool text',
      weather,
      `Let me check.\n${weather}\n${time}\n`,
      `${weather} and then ${time}\nDone.`,
      '<tool_call>{"name": "f", "arguments": {"s": "a</tool_call>b"}}',
      '<tool_call>{"name": "f", "arguments": {"s": "héllo \\u00e9 \\"q\\""}}</tool_call>',
      'text ending in <tool_ca',
    ];
    for (const text of cases) streamAgreesWithExtract(hermes, text);
  });

  it('streams a malformed block as content', () => {
    const text = 'x<tool_call>{"name": oops}</tool_call>';
    expect(streamAgreesWithExtract(hermes, text)).toEqual({ content: text, calls: [] });
  });
});
