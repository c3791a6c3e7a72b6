import { readJsonFixture } from '@vllm-ts/fixtures';
import { describe, expect, it } from 'vitest';
import { Tokenizer, TokenizerError } from './index.js';
import { fixtureTokenizer } from './testing/fixture-tokenizer.js';

interface ChatCase {
  messages: { role: string; content: string }[];
  add_generation_prompt: boolean;
  tools?: unknown[];
  enable_thinking?: boolean;
  rendered?: string;
  error?: string;
}

describe.each(['real-llama3', 'real-qwen3'])('%s chat template matches transformers', (name) => {
  const tok = fixtureTokenizer(name);
  const cases = readJsonFixture<ChatCase[]>(`tokenizers/${name}/chat_reference.json`);

  it('covers tools and enable_thinking', () => {
    expect(cases.some((c) => c.tools !== undefined)).toBe(true);
    expect(cases.some((c) => c.enable_thinking !== undefined)).toBe(true);
  });

  it.each(cases.map((c, i) => [i, c] as const))('conversation %i', (_i, c) => {
    const { messages, add_generation_prompt, rendered, error, ...extra } = c;
    const run = () => tok.applyChatTemplate(messages, { addGenerationPrompt: add_generation_prompt, ...extra });
    if (error !== undefined) expect(run).toThrow(TokenizerError);
    else expect(run()).toBe(rendered);
  });
});

describe('chat template selection', () => {
  // The small SentencePiece fixture loads in milliseconds; each config below needs its own tokenizer.
  const small = { tokenizerJson: readJsonFixture('tokenizers/sp-llama2style/tokenizer.json') };

  it('renders a ChatML template with the generation prompt', () => {
    const tok = fixtureTokenizer('gpt2-chatml');
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toMatchInlineSnapshot(`
      "<|im_start|>user
      Hi<|im_end|>
      <|im_start|>assistant
      "
    `);
  });

  it('picks a named template from a list, and tool_use when tools are given', () => {
    const config = { chat_template: [{ name: 'default', template: 'D{{ messages[0].content }}' }, { name: 'tool_use', template: 'T{{ tools | length }}' }, { name: 'rag', template: 'R' }] };
    const tok = Tokenizer.fromJSON(small.tokenizerJson, config);
    const messages = [{ role: 'user', content: 'x' }];
    expect(tok.applyChatTemplate(messages)).toBe('Dx');
    expect(tok.applyChatTemplate(messages, { tools: [{}, {}] })).toBe('T2');
    expect(tok.applyChatTemplate(messages, { chatTemplate: 'rag' })).toBe('R');
    expect(tok.applyChatTemplate(messages, { chatTemplate: '{{ bos_token }}!' })).toBe('!');
  });

  it('passes special tokens, extra variables and raise_exception', () => {
    const config = { bos_token: '<s>', chat_template: "{{ bos_token }}{{ flavour }}{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}" };
    const tok = Tokenizer.fromJSON(small.tokenizerJson, config);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'x' }], { flavour: 'mint' })).toBe('<s>mint');
    const two = [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }];
    expect(() => tok.applyChatTemplate(two)).toThrow(/failed to render: one message only/);
    try {
      tok.applyChatTemplate(two);
    } catch (error) {
      expect((error as TokenizerError).code).toBe('chat_template_failed');
    }
  });

  it('says when there is no template', () => {
    const tok = Tokenizer.fromJSON(small.tokenizerJson, {});
    expect(() => tok.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(/has no chat template/);
  });
});
