// Public surface of the server app: the factory (for embedding and tests), the CLI program, and
// the shapes they take.
export { createServer } from './create-server.js';
export type { ServerOptions, VllmServer } from './create-server.js';
export { buildProgram } from './serve-command.js';
export type { ServeConfig, ServeEngineArgs } from './serve-command.js';
export { runServe, resolveServeModel } from './run-serve.js';
export type { ResolvedModel } from './run-serve.js';
export { ApiError, ERROR_TABLE, toErrorResponse } from './errors.js';
export type { ErrorMapping, OpenAIErrorBody } from './errors.js';
export { VllmMetrics, TTFT_BUCKETS, ITL_BUCKETS, REQUEST_LATENCY_BUCKETS, build125Buckets } from './vllm-metrics.js';
export type { ServerState } from './server-context.js';
export type {
  ServerEngine,
  ServerEngineConfig,
  ServerTokenizer,
  ChatTemplateMessage,
  EnginePrompt,
  EngineRequestOutput,
  EngineCompletionOutput,
  EngineIterationStats,
  EngineGenerateOptions,
  FinishedRequestStats,
} from './engine-types.js';
