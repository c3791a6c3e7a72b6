import { describe, expect, it } from 'vitest';
import { llama3JsonToolParser as llama3 } from './llama3-json-tool-parser.js';
import { streamAgreesWithExtract, streamIn, streamSameAtEverySplit } from '../test-support/stream-tool-parser.js';

describe('llama3_json, whole output', () => {
  it('returns text that is not a JSON call as content', () => {
    expect(llama3.extractToolCalls('The answer is {42}')).toEqual({ content: 'The answer is {42}', toolCalls: [] });
  });

  it('reads "parameters" (Llama 3.1) and "arguments"', () => {
    const r = llama3.extractToolCalls('{"name": "get_weather", "parameters": {"city": "Paris"}}');
    expect(r).toEqual({ content: null, toolCalls: [{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), name: 'get_weather', arguments: '{"city": "Paris"}' }] });
    expect(llama3.extractToolCalls('{"name": "f", "arguments": {"a": 1}}').toolCalls[0]!.arguments).toBe('{"a": 1}');
  });

  it('strips <|python_tag|> and splits calls on ";"', () => {
    const r = llama3.extractToolCalls('<|python_tag|>{"name": "a", "parameters": {"x": "1;2"}}; {"name": "b", "parameters": {}}');
    expect(r.content).toBeNull();
    expect(r.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ['a', '{"x": "1;2"}'],
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

  it('releases each head once its name is read, then the arguments as they come', () => {
    const r = streamIn(llama3, '<|python_tag|>{"name": "a", "parameters": {"q": "}"}};{"name": "b", "parameters": {"n": 2}}', 1);
    expect(r.shape).toBe(`n${'a'.repeat(10)}n${'a'.repeat(8)}`);
    expect(r.content).toBe('');
    expect(r.calls.map((c) => [c.name, c.arguments])).toEqual([
      ['a', '{"q": "}"}'],
      ['b', '{"n": 2}'],
    ]);
    const s = llama3.createStream();
    expect(s.push('{"name": "f", "parameters": {"city": "Pa')).toEqual([
      { toolCall: { index: 0, id: expect.stringMatching(/^chatcmpl-tool-/), type: 'function', function: { name: 'f', arguments: '' } } },
      { toolCall: { index: 0, function: { arguments: '{"city": "Pa' } } },
    ]);
    expect(s.push('ris"}} ')).toEqual([{ toolCall: { index: 0, function: { arguments: 'ris"}' } } }]);
    expect(s.finish()).toEqual([]);
  });

  it('agrees with the whole-output parse at every split', () => {
    const cases = [
      'plain text',
      '  {"name": "f", "parameters": {"a": [1, {"b": null}]}}  ',
      '<|python_tag|>{"name": "a", "arguments": {}}; {"name": "b", "arguments": {"s": "\\"}"}} ;',
      '{"not": "a call"}',
      '{"parameters": {}, "name": 7}',
      '<|python_',
      '<|python_tag|>',
      '{"parameters": {"x": 1}, "name": "late"}',
      '   ',
    ];
    for (const text of cases) streamAgreesWithExtract(llama3, text);
  });

  it('cannot take back a released call: text after it that is not a call becomes content', () => {
    const r = streamSameAtEverySplit(llama3, '{"name": "a", "parameters": {}} trailing');
    expect(r).toMatchObject({ content: ' trailing', malformed: true, calls: [{ name: 'a', arguments: '{}' }] });
    expect(streamSameAtEverySplit(llama3, '{"name": "a", "parameters": {}}; {"x": 1}')).toMatchObject({ content: '; {"x": 1}', calls: [{ name: 'a' }] });
  });

  it('a call whose head is out keeps what was streamed; the broken rest of the output is dropped', () => {
    const r = streamSameAtEverySplit(llama3, '{"name": "a", "parameters": {"x": oops}} more');
    expect(r).toMatchObject({ content: '', malformed: true, calls: [{ name: 'a', arguments: '{"x": ' }] });
    expect(llama3.extractToolCalls('{"name": "a", "parameters": {"x": oops}} more').toolCalls).toEqual([]);
    expect(streamSameAtEverySplit(llama3, '{"name": "f", "parameters": {')).toMatchObject({ content: '', malformed: true, calls: [{ name: 'f', arguments: '{' }] });
  });
});
