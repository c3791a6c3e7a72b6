import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, VllmError } from '@vllm-ts/core';
import { TokenizerError, malformed } from './errors.js';
import { AddedVocabulary } from './internal/added-vocabulary.js';
import { BpeModel } from './internal/bpe-model.js';
import { TokenDecoder } from './internal/decoder.js';
import { compileNormalizer, type Normalize } from './internal/normalizer.js';
import { compilePostProcessor, type PostProcess } from './internal/post-processor.js';
import { compilePreTokenizer, type PreTokenize } from './internal/pre-tokenizer.js';
import { parseTokenizerJson, type ModelTables, type ParsedTokenizerJson } from './internal/tokenizer-json.js';
import { ChatTemplates, type ChatMessage, type ChatTemplateOptions } from './chat-template.js';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens (BOS for Llama), as HF's `add_special_tokens`. Default true. */
  readonly addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out special added tokens, as HF's `skip_special_tokens`. Default false. */
  readonly skipSpecialTokens?: boolean;
}

type Json = Record<string, any>;
/** ES2024 string methods (Node 20 has them; the ES2022 lib typings do not). */
type WellFormed = string & { isWellFormed(): boolean; toWellFormed(): string };

function parseJson(value: unknown, what: string): Json {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Json;
    } catch (error) {
      throw new TokenizerError('invalid_tokenizer_json', `${what} is not valid JSON`, error);
    }
  }
  if (typeof value !== 'object' || value === null) malformed(`${what} must be a JSON string or an object`, value);
  return value as Json;
}

function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return null;
}

/**
 * A Hugging Face `tokenizer.json` tokenizer (BPE: byte-level like GPT-2/Llama 3/Qwen, or SentencePiece-style
 * like Llama 2/Mistral), with the chat template of its `tokenizer_config.json`. Encodes and decodes exactly as
 * the Rust `tokenizers` library does.
 *
 * @example
 * ```ts
 * const tok = await Tokenizer.fromDirectory('/models/Qwen3-0.6B');
 * const ids = tok.encode('Hello world');             // [9707, 1879]
 * tok.decode(ids);                                   // 'Hello world'
 * tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
 * ```
 */
export class Tokenizer {
  /** Id of the config's `bos_token`, or null when it has none. */
  readonly bosTokenId: number | null;
  /** Id of the config's `eos_token`, or null when it has none. */
  readonly eosTokenId: number | null;
  private readonly model: BpeModel;
  private readonly normalize: Normalize | null;
  private readonly preTokenize: PreTokenize | null;
  private readonly postProcess: PostProcess | null;
  private readonly added: AddedVocabulary;
  private readonly decoder: TokenDecoder;
  private readonly specialIds: ReadonlySet<number>;
  private readonly chat: ChatTemplates;
  private readonly size: number;
  private out: number[] = [];
  private readonly emitPiece: (piece: string) => void;
  private readonly emitSegment: (text: string, offset: number) => void;
  private segmentOffset = 0;
  private readonly emitNormalized: (text: string, offset: number) => void;

  private constructor(json: Json, config: Json | null, tables: ModelTables | null) {
    if (json.model == null) malformed('tokenizer.json has no "model" section', Object.keys(json));
    this.normalize = compileNormalizer(json.normalizer);
    const pre = compilePreTokenizer(json.pre_tokenizer);
    this.preTokenize = pre.split;
    this.model = new BpeModel(json.model, { byteLevel: pre.byteLevel }, tables);
    this.postProcess = compilePostProcessor(json.post_processor);
    this.added = new AddedVocabulary(json.added_tokens, this.normalize);
    // What decode sees for each id: the added token's content, else the model's token (HF's order).
    const tokens = this.model.idToToken.slice();
    for (const [id, token] of this.added.byId) tokens[id] = token.content;
    this.decoder = new TokenDecoder(json.decoder, tokens);
    this.specialIds = new Set([...this.added.byId.values()].filter((t) => t.special).map((t) => t.id));
    this.size = tokens.length;
    const idOf = (key: string): number | null => {
      const content = tokenContent(config?.[key]);
      return content === null ? null : this.tokenToId(content);
    };
    this.bosTokenId = idOf('bos_token');
    this.eosTokenId = idOf('eos_token');
    this.chat = new ChatTemplates(config);
    const model = this.model;
    this.emitPiece = (piece) => {
      if (piece.length > 0) model.encode(piece, this.out);
    };
    this.emitNormalized = (text, offset) => this.encodeNormalized(text, this.segmentOffset + offset);
    this.emitSegment = (text, offset) => this.encodeSegment(text, offset);
  }

  /**
   * Loads `tokenizer.json`, plus `tokenizer_config.json` and `chat_template.jinja` when present, from a model folder.
   * @param dir the folder
   * @returns the tokenizer
   * @throws {TokenizerError} `tokenizer_not_found` without `tokenizer.json`; `unsupported_tokenizer` or
   *   `invalid_tokenizer_json` when it cannot be used
   * @example
   * ```ts
   * const tok = await Tokenizer.fromDirectory('/models/Meta-Llama-3-8B-Instruct');
   * ```
   */
  static async fromDirectory(dir: string): Promise<Tokenizer> {
    const optional = async (name: string): Promise<string | null> => {
      try {
        return await readFile(join(dir, name), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    };
    const [json, config, template] = await Promise.all([optional('tokenizer.json'), optional('tokenizer_config.json'), optional('chat_template.jinja')]);
    if (json === null) throw new TokenizerError('tokenizer_not_found', `no tokenizer.json in ${dir}; expected a Hugging Face model folder`);
    const configJson = config === null ? null : parseJson(config, 'tokenizer_config.json');
    const merged = template !== null && configJson?.chat_template == null ? { ...configJson, chat_template: template } : configJson;
    return Tokenizer.fromJSON(json, merged);
  }

  /**
   * Builds a tokenizer from the contents of `tokenizer.json` and, optionally, `tokenizer_config.json`.
   * @param tokenizerJson the parsed object or the JSON text
   * @param tokenizerConfig the parsed object or JSON text of `tokenizer_config.json` (special tokens, chat template)
   * @returns the tokenizer
   * @throws {TokenizerError} `unsupported_tokenizer` for a component this runtime lacks (e.g. a WordPiece
   *   model), `invalid_tokenizer_json` for a malformed file
   * @example
   * ```ts
   * const tok = Tokenizer.fromJSON(readFileSync('tokenizer.json', 'utf8'));
   * ```
   */
  static fromJSON(tokenizerJson: string | object, tokenizerConfig?: string | object | null): Tokenizer {
    const config = tokenizerConfig == null ? null : parseJson(tokenizerConfig, 'tokenizer_config.json');
    if (typeof tokenizerJson === 'string') {
      let parsed: ParsedTokenizerJson;
      try {
        parsed = parseTokenizerJson(tokenizerJson);
      } catch (error) {
        if (VllmError.isInstance(error)) throw error;
        throw new TokenizerError('invalid_tokenizer_json', 'tokenizer.json is not valid JSON', error);
      }
      return new Tokenizer(parsed.json, config, parsed.tables);
    }
    return new Tokenizer(parseJson(tokenizerJson, 'tokenizer.json'), config, null);
  }

  /** Number of ids: one past the largest id of the vocabulary and the added tokens. */
  get vocabSize(): number {
    return this.size;
  }

  /**
   * Encodes text to token ids, as HF's `encode(text, add_special_tokens)`.
   * @param text the text (lone surrogates are encoded as U+FFFD, as `TextEncoder` does)
   * @param options see {@link EncodeOptions}
   * @returns the ids
   * @throws {InvalidArgumentError} `invalid_argument` when `text` is not a string
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new InvalidArgumentError('invalid_argument', 'Tokenizer.encode', 'text', 'a string', text);
    if (!(text as WellFormed).isWellFormed()) text = (text as WellFormed).toWellFormed();
    const out: number[] = [];
    this.out = out;
    this.added.splitRaw(text, this.emitSegment, out);
    this.out = [];
    return options.addSpecialTokens !== false && this.postProcess !== null ? this.postProcess(out) : out;
  }

  private encodeSegment(text: string, offset: number): void {
    const normalized = this.normalize === null ? text : this.normalize(text);
    if (this.added.hasNormalized) {
      this.segmentOffset = offset;
      this.added.splitNormalized(normalized, this.emitNormalized, this.out);
    } else this.encodeNormalized(normalized, offset);
  }

  private encodeNormalized(text: string, offset: number): void {
    if (text.length === 0) return;
    if (this.preTokenize === null) this.model.encode(text, this.out);
    else this.preTokenize(text, offset, this.emitPiece);
  }

  /**
   * Decodes ids to text, as HF's `decode(ids, skip_special_tokens)`: every token, added ones included, goes
   * through the decoder; ids outside the vocabulary are skipped.
   * @param ids the ids
   * @param options see {@link DecodeOptions}
   * @returns the text
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (options.skipSpecialTokens === true && this.specialIds.size > 0) {
      const kept: number[] = [];
      for (const id of ids) if (!this.specialIds.has(id)) kept.push(id);
      return this.decoder.decode(kept, 0, kept.length);
    }
    return this.decoder.decode(ids, 0, ids.length);
  }

  /**
   * Renders a conversation with the chat template of `tokenizer_config.json`, as transformers'
   * `apply_chat_template(..., tokenize=False)`.
   * @param messages the conversation
   * @param options generation prompt, tools, template name and extra template variables (e.g. `enable_thinking`)
   * @returns the prompt text
   * @throws {TokenizerError} `chat_template_missing` without a template; `chat_template_failed` when it raises
   * @example
   * ```ts
   * tok.applyChatTemplate([{ role: 'user', content: 'Hello!' }], { addGenerationPrompt: true });
   * ```
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.chat.render(messages, options);
  }

  /**
   * @param token a token string (added tokens first, then the model vocabulary)
   * @returns its id, or null when it is not in the vocabulary
   */
  tokenToId(token: string): number | null {
    return this.added.byContent.get(token)?.id ?? this.model.lookup(token) ?? null;
  }

  /**
   * @param id a token id
   * @returns its token string (byte-level tokens as stored, e.g. `Ġthe`), or null when no token has that id
   */
  idToToken(id: number): string | null {
    return this.added.byId.get(id)?.content ?? this.model.idToToken[id] ?? null;
  }

  /**
   * @param id a token id
   * @returns true when it is an added token marked special (what `skipSpecialTokens` leaves out)
   */
  isSpecialToken(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * @param id a token id
   * @returns true when it is a `<0xXX>` byte token of a ByteFallback decoder: consecutive ones decode together,
   *   so a stream must not show text from an unfinished run
   */
  isByteFallbackToken(id: number): boolean {
    return this.decoder.byteFallbackIds?.[id] === 1;
  }
}
