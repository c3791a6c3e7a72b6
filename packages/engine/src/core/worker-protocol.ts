import type { MessagePort } from 'node:worker_threads';
import type { EngineCoreOutputColumns, EngineCoreRequest, RequestId, SchedulerStats } from '@vllm-ts/core';
import type { EngineSettings } from '../config/engine-args.js';
import type { EngineCoreInfo } from './build-engine-core.js';

/** Settings as they cross into the worker: functions stay behind. */
export type WorkerSettings = EngineSettings;

/** `workerData` of the engine-core worker. */
export interface WorkerInit {
  readonly settings: WorkerSettings;
  /** The resolved local model folder. */
  readonly modelDir: string;
  /** Port the front end sends requests on (read synchronously between steps). */
  readonly port: MessagePort;
  /** Whether to report weight-loading progress. */
  readonly reportProgress: boolean;
}

/** Front end -> worker. */
export type ToWorker =
  | { readonly type: 'add'; readonly request: EngineCoreRequest }
  | { readonly type: 'abort'; readonly reqIds: readonly RequestId[] }
  | { readonly type: 'utility'; readonly id: number; readonly method: 'resetPrefixCache' | 'getStats' }
  | { readonly type: 'shutdown' };

/** An error as it crosses threads: code and message survive, the class does not. */
export interface SerializedError {
  readonly name: string;
  readonly code: string | null;
  readonly message: string;
  readonly stack?: string;
}

/**
 * A step's outputs as they cross threads: the batch as plain columns (typed arrays, cloned as
 * bytes; no object per request), wrapped again with `EngineCoreOutputBatch.fromColumns`.
 */
export interface WireEngineCoreOutputs {
  readonly outputs: EngineCoreOutputColumns;
  readonly schedulerStats: SchedulerStats;
  readonly timestamp: number;
}

/** Worker -> front end. */
export type FromWorker =
  | { readonly type: 'progress'; readonly loaded: number; readonly total: number }
  | { readonly type: 'ready'; readonly info: EngineCoreInfo; readonly stats: SchedulerStats }
  | { readonly type: 'init_failed'; readonly error: SerializedError }
  | { readonly type: 'outputs'; readonly outputs: WireEngineCoreOutputs }
  | { readonly type: 'utility_result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'step_error'; readonly error: SerializedError; readonly failed: readonly RequestId[] }
  | { readonly type: 'fatal'; readonly error: SerializedError }
  | { readonly type: 'closed' };

/**
 * An error in a form `postMessage` carries.
 * @param error anything thrown
 */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : null, message: error.message, stack: error.stack };
  }
  return { name: 'Error', code: null, message: String(error) };
}
