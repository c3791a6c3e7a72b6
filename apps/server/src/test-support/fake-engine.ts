// A deterministic in-process engine for the HTTP-layer tests: it keeps the AsyncLLM contract
// (delta outputs, n, stop strings, logprobs, abort, stats, drain on close) over a byte tokenizer,
// so the server's own behaviour can be pinned without a model. The real engine is tested in
// server-e2e.test.ts.
import type { SamplingParams, SchedulerStats, TokenLogprobs } from '@vllm-ts/core';
import { makeEmptySchedulerStats, VllmError } from '@vllm-ts/core';
import type {
  ChatTemplateMessage,
  EngineIterationStats,
  EnginePrompt,
  EngineRequestOutput,
  GenerationDefaults,
  ServerEngine,
  ServerTokenizer,
} from '../engine-types.js';

const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** UTF-8 bytes are ids 0..255; specials follow. */
export class ByteTokenizer implements ServerTokenizer {
  readonly vocabSize = 256 + SPECIALS.length;
  encode(text: string): number[] {
    const ids: number[] = [];
    const re = new RegExp(SPECIALS.map((s) => s.replace(/[|]/g, '\\|')).join('|'), 'g');
    let last = 0;
    for (const m of text.matchAll(re)) {
      ids.push(...new TextEncoder().encode(text.slice(last, m.index)));
      ids.push(256 + SPECIALS.indexOf(m[0]));
      last = m.index + m[0].length;
    }
    ids.push(...new TextEncoder().encode(text.slice(last)));
    return ids;
  }
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      out += new TextDecoder().decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (id < 256) bytes.push(id);
      else {
        flush();
        if (options.skipSpecialTokens === false) out += SPECIALS[id - 256] ?? '';
      }
    }
    flush();
    return out;
  }
  applyChatTemplate(messages: readonly ChatTemplateMessage[], options: Record<string, unknown> = {}): string {
    let s = '';
    for (const m of messages) {
      if (m.role === 'tool' && m.content === 'explode') throw new Error('raise_exception: tool output not allowed');
      s += `<|im_start|>${m.role}\n${m.content ?? ''}<|im_end|>\n`;
    }
    return options.addGenerationPrompt ? `${s}<|im_start|>assistant\n` : s;
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ';

interface Live {
  params: SamplingParams;
  aborted: boolean;
}

/** Options of {@link FakeEngine}. */
export interface FakeEngineOptions {
  maxModelLen?: number;
  numGpuBlocks?: number;
  /** Milliseconds per step (0: one macrotask). */
  stepMs?: number;
  /** What `getGenerationDefaults()` reports (absent: the method is absent, as on engines without it). */
  generationDefaults?: GenerationDefaults;
  /**
   * Scripted output: given the prompt text (specials kept), the exact text to generate, or null
   * for the alphabet. It comes out `scriptChunkChars` characters a step (one token per UTF-8 byte),
   * ending with `stop` (or `length` once `maxTokens` tokens are out).
   */
  script?: (promptText: string) => string | null;
  /** Characters per step of a scripted output (default 3). */
  scriptChunkChars?: number;
}

/** The deterministic engine; see the file comment. */
export class FakeEngine implements ServerEngine {
  readonly tokenizer = new ByteTokenizer();
  readonly config;
  readonly live = new Map<string, Live>();
  readonly #listeners = new Set<(s: EngineIterationStats) => void>();
  #closed = false;
  #stats: SchedulerStats = stats(0, 0);
  readonly #stepMs: number;
  readonly #script: ((promptText: string) => string | null) | null;
  readonly #scriptChunk: number;
  /** Present when constructed with `generationDefaults`. */
  getGenerationDefaults?: () => GenerationDefaults;
  /** Params of every request, in arrival order. */
  readonly seenParams: SamplingParams[] = [];
  /** Ids of every request the engine saw aborted. */
  readonly abortedIds: string[] = [];

  constructor(options: FakeEngineOptions = {}) {
    this.config = {
      model: '/models/fake',
      servedModelName: 'fake-model',
      maxModelLen: options.maxModelLen ?? 512,
      engineVersion: 'v1' as const,
      device: 'cpu',
      blockSize: 16,
      numGpuBlocks: options.numGpuBlocks ?? 1024,
      vocabSize: this.tokenizer.vocabSize,
    };
    this.#stepMs = options.stepMs ?? 0;
    this.#script = options.script ?? null;
    this.#scriptChunk = options.scriptChunkChars ?? 3;
    const defaults = options.generationDefaults;
    if (defaults !== undefined) this.getGenerationDefaults = () => defaults;
  }

  async *generate(prompt: EnginePrompt, params: SamplingParams, requestId: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<EngineRequestOutput> {
    if (this.#closed) throw new VllmError('engine_closed', 'engine is closed');
    if (this.live.has(requestId)) throw new VllmError('duplicate_request_id', `request id ${requestId} is already live`);
    const ids = typeof prompt === 'object' && 'promptTokenIds' in prompt ? prompt.promptTokenIds : this.tokenizer.encode(typeof prompt === 'string' ? prompt : prompt.prompt);
    if (ids.some((t) => t >= this.tokenizer.vocabSize)) throw new VllmError('invalid_prompt', 'token id out of vocabulary');
    this.seenParams.push(params);
    const live: Live = { params, aborted: false };
    this.live.set(requestId, live);
    const onAbort = () => void this.abort(requestId);
    options.signal?.addEventListener('abort', onAbort);
    const seqs = Array.from({ length: params.n }, (_, i) => ({ text: '', ids: [] as number[], done: false, rng: seed(params.seed, ids, i) }));
    const scripted = this.#script?.(this.tokenizer.decode(ids, { skipSpecialTokens: false })) ?? null;
    let first = true;
    try {
      while (!live.aborted && seqs.some((s) => !s.done)) {
        await new Promise((r) => (this.#stepMs > 0 ? setTimeout(r, this.#stepMs) : setImmediate(r)));
        if (live.aborted) break;
        const outputs = [];
        for (const [index, s] of seqs.entries()) {
          if (s.done) continue;
          if (scripted !== null) {
            const chars = Array.from(scripted.slice(s.text.length)).slice(0, this.#scriptChunk).join('');
            const tokenIds = [...new TextEncoder().encode(chars)];
            s.text += chars;
            s.ids.push(...tokenIds);
            const finishReason: 'stop' | 'length' | null = s.ids.length >= (params.maxTokens ?? 16) && s.text.length < scripted.length ? 'length' : s.text.length >= scripted.length ? 'stop' : null;
            s.done = finishReason !== null;
            outputs.push({ index, text: chars, tokenIds, cumulativeLogprob: null, logprobs: null, finishReason, stopReason: null });
            continue;
          }
          const r = params.isGreedy ? (ids.length + s.ids.length) % ALPHABET.length : Math.floor(s.rng() * ALPHABET.length);
          const id = ALPHABET.charCodeAt(r);
          s.ids.push(id);
          let delta = String.fromCharCode(id);
          let finishReason: 'stop' | 'length' | null = null;
          let stopReason: string | null = null;
          const before = s.text.length;
          s.text += delta;
          const hit = params.stop.find((x) => s.text.includes(x));
          if (hit !== undefined && s.ids.length >= params.minTokens) {
            s.text = s.text.slice(0, s.text.indexOf(hit) + (params.includeStopStrInOutput ? hit.length : 0));
            delta = s.text.slice(before);
            finishReason = 'stop';
            stopReason = hit;
          } else if (s.ids.length >= (params.maxTokens ?? 16)) finishReason = 'length';
          s.done = finishReason !== null;
          const logprobs: TokenLogprobs[] | null =
            params.logprobs === null ? null : [{ chosen: { tokenId: id, logprob: -0.5, rank: 1 }, top: Array.from({ length: params.logprobs }, (_, k) => ({ tokenId: id + k, logprob: -0.5 - k, rank: k + 1 })) }];
          outputs.push({ index, text: delta, tokenIds: [id], cumulativeLogprob: null, logprobs, finishReason, stopReason });
        }
        const promptLogprobs = first && params.promptLogprobs !== null ? ids.map((t, i) => (i === 0 ? null : { chosen: { tokenId: t, logprob: -1, rank: 1 }, top: [] })) : null;
        this.#emit(first ? ids.length : 0, outputs.length, seqs.every((s) => s.done) ? [params] : []);
        yield { requestId, prompt: null, promptTokenIds: ids, promptLogprobs, outputs, finished: seqs.every((s) => s.done), numCachedTokens: 0 };
        first = false;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.live.delete(requestId);
      this.#stats = stats(this.live.size, this.config.numGpuBlocks);
    }
  }

  async abort(requestId: string | string[]): Promise<void> {
    for (const id of Array.isArray(requestId) ? requestId : [requestId]) {
      const live = this.live.get(id);
      if (live && !live.aborted) {
        live.aborted = true;
        this.abortedIds.push(id);
      }
    }
  }

  getSchedulerStats(): SchedulerStats {
    return this.#stats;
  }

  onStats(listener: (s: EngineIterationStats) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close({ drainTimeoutMs = 0 } = {}): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + drainTimeoutMs;
    while (this.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await this.abort([...this.live.keys()]);
  }

  #emit(promptTokens: number, generationTokens: number, finished: SamplingParams[]): void {
    this.#stats = stats(this.live.size, this.config.numGpuBlocks);
    const s: EngineIterationStats = {
      schedulerStats: this.#stats,
      numPromptTokens: promptTokens,
      numGenerationTokens: generationTokens,
      timeToFirstTokens: promptTokens > 0 ? [0.002] : [],
      interTokenLatencies: promptTokens > 0 ? [] : [0.001],
      finishedRequests: finished.map((p) => ({ finishReason: 'length' as const, e2eLatency: 0.01, queueTime: 0, prefillTime: 0.002, decodeTime: 0.008, inferenceTime: 0.01, numPromptTokens: 1, numGenerationTokens: p.maxTokens ?? 16, maxTokensParam: p.maxTokens, n: p.n })),
    };
    for (const l of this.#listeners) l(s);
  }
}

function stats(running: number, numBlocks: number): SchedulerStats {
  return { ...makeEmptySchedulerStats(), numRunningReqs: running, kvCacheUsage: numBlocks > 0 ? Math.min(1, running / numBlocks) : 0 };
}

function seed(s: number | null, ids: readonly number[], index: number): () => number {
  let x = ((s ?? 12345) ^ ids.reduce((a, b) => (a * 31 + b) | 0, 7) ^ (index * 0x9e3779b9)) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}
