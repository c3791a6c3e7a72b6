/**
 * Why a request stopped, as reported to users (OpenAI's `finish_reason`):
 * `stop` (EOS, a stop token or a stop string), `length` (max tokens or max model length),
 * `abort` (cancelled), `error` (the engine failed the request).
 */
export type FinishReason = 'stop' | 'length' | 'abort' | 'error';
