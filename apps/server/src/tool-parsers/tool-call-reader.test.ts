import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ToolCallReader } from './tool-call-reader.js';

/** Reads `text` in pieces of `size`; returns the state, name, arguments and characters consumed. */
function read(text: string, size = text.length || 1) {
  const r = new ToolCallReader();
  let used = 0;
  for (let i = 0; i < text.length && r.state === 'open'; i += size) used += r.feed(text.slice(i, i + size));
  return { state: r.state, name: r.name, args: r.argumentsSoFar(), complete: r.argumentsComplete, used };
}

describe('ToolCallReader', () => {
  it('reads the name and the arguments verbatim', () => {
    expect(read('{"name": "get_weather", "arguments": {"city": "Paris", "n": [1, 2.5e-3]}}')).toEqual({
      state: 'done',
      name: 'get_weather',
      args: '{"city": "Paris", "n": [1, 2.5e-3]}',
      complete: true,
      used: 73,
    });
  });

  it('takes "parameters", a string value decoded, a scalar, or "{}" when there are none', () => {
    expect(read('{"parameters": {"a": 1}, "name": "f"}')).toMatchObject({ state: 'done', name: 'f', args: '{"a": 1}' });
    expect(read('{"name": "f", "arguments": "{\\"y\\": 1}"}')).toMatchObject({ state: 'done', args: '{"y": 1}' });
    expect(read('{"name": "f", "arguments": -12.5E+3 }')).toMatchObject({ state: 'done', args: '-12.5E+3' });
    expect(read('{"name": "f", "arguments": null}')).toMatchObject({ state: 'done', args: 'null' });
    expect(read('{"name": "f", "other": {"arguments": 1}}')).toMatchObject({ state: 'done', args: '{}' });
  });

  it('stops at the closing brace, and at the first character that breaks JSON or the call shape', () => {
    expect(read('{"name": "f"} trailing')).toMatchObject({ state: 'done', used: 13 });
    expect(read('{"name": "f", "arguments": {"city": }}')).toMatchObject({ state: 'error', name: 'f', args: '{"city": ', used: 36 });
    for (const bad of ['{"arguments": {}}', '{"name": 1}', '{"name": "a", "name": "b"}', '{"name": "a", "arguments": 1, "parameters": 2}', '[1]', '{"name": "f",}', '{"name": "f", "arguments": [1,]}', '{"name": "f", "arguments": 01}']) {
      expect(read(bad).state).toBe('error');
    }
  });

  it('grows the arguments by appending only, whatever the pieces', () => {
    const text = '{"name": "f", "arguments": {"s": "a}\\"b\\u00e9", "t": [true, false, null, {}], "u": -0.5}}';
    for (let size = 1; size <= text.length; size++) {
      const r = new ToolCallReader();
      let seen = '';
      for (let i = 0; i < text.length; i += size) {
        r.feed(text.slice(i, i + size));
        const now = r.argumentsSoFar();
        expect(now.startsWith(seen)).toBe(true);
        seen = now;
      }
      expect(seen).toBe('{"s": "a}\\"b\\u00e9", "t": [true, false, null, {}], "u": -0.5}');
    }
  });

  it('accepts exactly the call objects JSON.parse accepts', () => {
    const jsonish = fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ',', ':', ' ', '1', '0', '-', '.', 'e', '+', 'a', 'n', 'u', 'l', '\\', 't', 'r', 'f'), maxLength: 12 });
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.json()), fc.json(), (tail, args) => {
        for (const text of [`{"name": "f", "arguments": ${tail}}`, `{"name": "f", "arguments": ${args}}`]) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const r = read(text);
          const whole = r.state === 'done' && r.used === text.length;
          expect(whole).toBe(parsed !== undefined);
          if (whole && typeof (parsed as { arguments: unknown }).arguments !== 'string') expect(JSON.parse(r.args)).toEqual((parsed as { arguments: unknown }).arguments);
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
