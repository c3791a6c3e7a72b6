import type { SamplingParams, SchedulerStats } from '@vllm-ts/core';
import type { CompletionOutput, FinishedRequestStats, GenerationDefaults, IterationStats, PromptInput, RequestOutput } from '@vllm-ts/engine';

/**
 * The part of `@vllm-ts/tokenizer`'s `Tokenizer` the server calls. `AsyncLLM.tokenizer` satisfies it.
 */
export interface ServerTokenizer {
  /** Token ids of `text` (Hugging Face `add_special_tokens` semantics; default true). */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The model's chat template rendered over `messages`. */
  applyChatTemplate(messages: readonly ChatTemplateMessage[], options?: Record<string, unknown>): string;
  /** Number of token ids the tokenizer knows (ids are `0..vocabSize-1`). */
  readonly vocabSize: number;
}

/** One chat message as handed to the chat template. */
export interface ChatTemplateMessage {
  readonly role: string;
  readonly content: string | null;
  readonly [key: string]: unknown;
}

/** The resolved engine configuration fields the server reports. */
export interface ServerEngineConfig {
  readonly model: string;
  readonly servedModelName: string;
  readonly maxModelLen: number;
  readonly engineVersion: 'v0' | 'v1';
  readonly device: string;
  readonly blockSize: number;
  readonly numGpuBlocks: number;
  /** The model vocabulary size; may exceed the tokenizer's (padded embeddings). */
  readonly vocabSize?: number;
  /** Speculative decoding settings, null (or absent) when the engine does not speculate. */
  readonly speculativeConfig?: { readonly numSpeculativeTokens: number } | null;
}

/** A prompt as the engine accepts it. */
export type EnginePrompt = PromptInput;

/** One output sequence of a request, as `AsyncLLM.generate` yields it. */
export type EngineCompletionOutput = CompletionOutput;

/** One update of a request, as `AsyncLLM.generate` yields it. */
export type EngineRequestOutput = RequestOutput;

/** What the engine reports after each step (the source of `/metrics`). */
export type EngineIterationStats = IterationStats;

export type { FinishedRequestStats, GenerationDefaults };

/** Options of one `generate` call. */
export interface EngineGenerateOptions {
  priority?: number;
  outputKind?: 'delta' | 'cumulative' | 'final';
  signal?: AbortSignal;
}

/**
 * The engine surface the server needs: a structural subset of `AsyncLLM` from `@vllm-ts/engine`
 * (see docs/engine-api.md), so the HTTP layer can be tested against any engine that keeps the contract.
 */
export interface ServerEngine {
  readonly config: ServerEngineConfig;
  readonly tokenizer: ServerTokenizer;
  generate(
    prompt: EnginePrompt,
    params: SamplingParams,
    requestId: string,
    options?: EngineGenerateOptions,
  ): AsyncGenerator<EngineRequestOutput>;
  abort(requestId: string | string[]): Promise<void>;
  getSchedulerStats(): SchedulerStats;
  onStats(listener: (stats: EngineIterationStats) => void): () => void;
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
  /** The generation-config request defaults (absent: none, as with `--generation-config vllm`). */
  getGenerationDefaults?(): GenerationDefaults;
}
