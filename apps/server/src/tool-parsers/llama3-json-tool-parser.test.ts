import { describe, expect, it } from 'vitest';
import { llama3JsonToolParser as llama3 } from './llama3-json-tool-parser.js';
import { streamAgreesWithExtract, streamIn } from '../test-support/stream-tool-parser.js';

describe('llama3_json, whole output', () => {
  it('returns text that is not a JSON call as content', () => {
    expect(llama3.extractToolCalls('The answer is {42}')).toEqual({ content: 'The answer is {42}', toolCalls: [] });
  });

  it('reads "parameters" (Llama 3.1) and "arguments"', () => {
    const r = llama3.extractToolCalls('{"name": "get_weather", "parameters": {"city": "Paris"}}');
    expect(r).toEqual({ content: null, toolCalls: [{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    expect(llama3.extractToolCalls('{"name": "f", "arguments": {"a": 1}}').toolCalls[0]!.arguments).toBe('{"a":1}');
  });

  it('strips <|python_tag|> and splits calls on ";"', () => {
    const r = llama3.extractToolCalls('<|python_tag|>{"name": "a", "parameters": {"x": "1;2"}}; {"name": "b", "parameters": {}}');
    expect(r.content).toBeNull();
    expect(r.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ['a', '{"x":"1;2"}'],
      ['b', '{}'],
    ]);
  });

  it('returns the whole output as content when any object is malformed or not a call', () => {
    for (const text of ['{"name": "f", "parameters": {', '{"city": "Paris"}', '{"name": "a", "parameters": {}} {"name": "b", "parameters": {}}', '{"name": "a", "parameters": {}}; oops', '<|python_tag|>']) {
      expect(llama3.extractToolCalls(text)).toEqual({ content: text, toolCalls: [] });
    }
  });
});

describe('llama3_json, streamed', () => {
  it('passes plain text through at once', () => {
    const s = llama3.createStream();
    expect(s.push('Hi')).toEqual([{ content: 'Hi' }]);
    expect(s.push(' {there}')).toEqual([{ content: ' {there}' }]);
    expect(s.finish()).toEqual([]);
  });

  it('releases each call as its object closes, name first', () => {
    const r = streamIn(llama3, '<|python_tag|>{"name": "a", "parameters": {"q": "}"}};{"name": "b", "parameters": {"n": 2}}', 1);
    expect(r.shape).toBe('nana');
    expect(r.content).toBe('');
    expect(r.calls.map((c) => [c.name, c.arguments])).toEqual([
      ['a', '{"q":"}"}'],
      ['b', '{"n":2}'],
    ]);
  });

  it('agrees with the whole-output parse at every piece size', () => {
    const cases = [
      'plain text',
      '  {"name": "f", "parameters": {"a": [1, {"b": null}]}}  ',
      '<|python_tag|>{"name": "a", "arguments": {}}; {"name": "b", "arguments": {"s": "\\"}"}} ;',
      '{"name": "f", "parameters": {',
      '{"not": "a call"}',
      '<|python_',
      '<|python_tag|>',
    ];
    for (const text of cases) streamAgreesWithExtract(llama3, text);
  });

  it('cannot take back a released call: text after it that is not a call becomes content', () => {
    const r = streamIn(llama3, '{"name": "a", "parameters": {}} trailing', 1);
    expect(r.calls.map((c) => c.name)).toEqual(['a']);
    expect(r.content).toBe(' trailing');
  });
});
