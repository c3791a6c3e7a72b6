import { tokenizerFixture } from '@vllm-ts/fixtures';
import { Tokenizer } from '@vllm-ts/tokenizer';
import { describe, expect, it } from 'vitest';
import { renderChat } from './prompt-input.js';
import type { ServerTokenizer } from './engine-types.js';
import type { ChatMessageInput } from './request-schemas.js';

// The real Qwen3 chat template renders tools, assistant tool calls (OpenAI's JSON-string arguments
// turned into objects first, as vLLM does) and tool results.

const fixture = tokenizerFixture('real-qwen3');
const tokenizer = Tokenizer.fromJSON(fixture.tokenizerJson, fixture.tokenizerConfig) as unknown as ServerTokenizer;
/** Messages as the request validator passes them on. */
const msgs = (m: object[]) => m as unknown as ChatMessageInput[];
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

describe('tool messages through the Qwen3 template', () => {
  it('renders the tools, the call and the tool response', () => {
    const text = renderChat(
      msgs([
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'chatcmpl-tool-1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'chatcmpl-tool-1', content: '{"temp": 21}' },
      ]),
      tokenizer,
      { tools },
    ).text!;
    expect(text).toContain('"name": "get_weather"');
    expect(text).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>');
    expect(text).toContain('<tool_response>\n{"temp": 21}\n</tool_response>');
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('refuses arguments that are not JSON, naming the field', () => {
    expect(() =>
      renderChat(msgs([{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }]), tokenizer, { tools }),
    ).toThrow(expect.objectContaining({ param: 'messages[1].tool_calls[0].function.arguments' }));
  });
});
