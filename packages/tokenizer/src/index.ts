// Public surface of @vllm-ts/tokenizer.
export { Tokenizer } from './tokenizer.js';
export type { EncodeOptions, DecodeOptions } from './tokenizer.js';
export { IncrementalDetokenizer } from './incremental-detokenizer.js';
export type { IncrementalDetokenizerOptions } from './incremental-detokenizer.js';
export type { ChatMessage, ChatTemplateOptions } from './chat-template.js';
export { TokenizerError } from './errors.js';
export type { TokenizerErrorCode } from './errors.js';
