import type { BenchRequest } from './datasets.js';

/** What one streamed request measured (seconds), as vLLM's `RequestFuncOutput`. */
export interface RequestMeasurement {
  readonly success: boolean;
  readonly error: string;
  /** Send to first non-empty text chunk. */
  readonly ttft: number;
  /** Gaps between successive text chunks. */
  readonly itl: readonly number[];
  /** Send to last chunk. */
  readonly latency: number;
  readonly promptLen: number;
  readonly outputLen: number;
}

/** Where and how to send completions. */
export interface CompletionTarget {
  /** e.g. `http://127.0.0.1:8000` */
  readonly baseUrl: string;
  /** Default `/v1/completions`. */
  readonly endpoint: string;
  readonly model: string;
  readonly apiKey?: string;
}

/**
 * Sends one streaming completion (token-id prompt when the request has no text, `ignore_eos`,
 * greedy, usage requested) and times its chunks. Token counts come from the final usage chunk.
 * @param target server, endpoint and model
 * @param r the request
 * @returns the measurement; failures are a `success: false` value, not a throw
 */
export async function sendCompletion(target: CompletionTarget, r: BenchRequest): Promise<RequestMeasurement> {
  const body = {
    model: target.model,
    prompt: r.prompt ?? r.promptTokenIds,
    max_tokens: r.outputLen,
    temperature: 0,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  };
  const start = performance.now();
  let ttft = 0;
  let last = start;
  const itl: number[] = [];
  let promptLen = r.promptTokenIds.length;
  let outputLen = 0;
  const fail = (error: string): RequestMeasurement => ({ success: false, error, ttft, itl, latency: (performance.now() - start) / 1000, promptLen, outputLen });
  try {
    const res = await fetch(new URL(target.endpoint, target.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(target.apiKey === undefined ? {} : { authorization: `Bearer ${target.apiKey}` }) },
      body: JSON.stringify(body),
    });
    if (!res.ok || res.body === null) return fail(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const decoder = new TextDecoder();
    let buf = '';
    let chunks = 0;
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(bytes, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') continue;
          const msg = JSON.parse(data) as { choices?: { text?: string }[]; usage?: { prompt_tokens: number; completion_tokens: number } | null; error?: { message: string } };
          if (msg.error !== undefined) return fail(msg.error.message);
          const now = performance.now();
          if ((msg.choices?.length ?? 0) > 0) {
            if (chunks === 0) ttft = (now - start) / 1000;
            else itl.push((now - last) / 1000);
            chunks++;
            last = now;
          }
          if (msg.usage) {
            promptLen = msg.usage.prompt_tokens;
            outputLen = msg.usage.completion_tokens;
          }
        }
      }
    }
    if (chunks === 0) return fail('the stream ended without any token');
    return { success: true, error: '', ttft, itl, latency: (last - start) / 1000, promptLen, outputLen: outputLen || chunks };
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}
