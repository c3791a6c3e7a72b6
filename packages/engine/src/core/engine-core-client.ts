import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import type { EngineCoreRequest, RequestId, SchedulerStats } from '@vllm-ts/core';
import type { EngineCoreInfo } from './build-engine-core.js';
import type { EngineCore } from './engine-core.js';
import type { EngineCoreOutputs } from './engine-core-outputs.js';

/**
 * How the front end talks to the engine core, wherever it runs: in this thread (V0) or in a
 * worker thread (V1, {@link WorkerEngineCoreClient}).
 */
export interface EngineCoreClient {
  /** Model and cache facts the core reported once ready. */
  readonly info: EngineCoreInfo;
  /** Queues a tokenized request. */
  addRequest(request: EngineCoreRequest): void;
  /** Aborts requests; their blocks are freed within one step. */
  abortRequests(reqIds: readonly RequestId[]): void;
  /**
   * The next step's outputs: in-process, runs a step (null when the core has no work); in a
   * worker, waits for the step the worker runs on its own.
   * @throws VllmError `engine_dead` when the core failed beyond recovery
   */
  getOutputs(): Promise<EngineCoreOutputs | null>;
  /** The scheduler's stats as of the last step. */
  lastStats(): SchedulerStats | null;
  /** Drops the prefix cache; false while requests hold blocks. */
  resetPrefixCache(): Promise<boolean>;
  /** Aborts everything, releases the model; idempotent. */
  shutdown(): Promise<void>;
}

/** V0's process model: the engine core runs in the caller's thread, one step per `getOutputs()`. */
export class InprocEngineCoreClient implements EngineCoreClient {
  readonly info: EngineCoreInfo;
  private readonly core: EngineCore;
  private readonly release: () => void;
  private stats: SchedulerStats | null = null;
  private closed = false;

  /**
   * @param core the engine core
   * @param info what it reported
   * @param release frees the model runner
   */
  constructor(core: EngineCore, info: EngineCoreInfo, release: () => void) {
    this.core = core;
    this.info = info;
    this.release = release;
  }

  addRequest(request: EngineCoreRequest): void {
    this.core.addRequest(request);
  }

  abortRequests(reqIds: readonly RequestId[]): void {
    this.core.abortRequests(reqIds);
    // The abort freed blocks now; a cached snapshot would report them held until the next step.
    this.stats = null;
  }

  async getOutputs(): Promise<EngineCoreOutputs | null> {
    for (;;) {
      // NOTE: yield first so callers' timers and I/O run between (synchronous) steps.
      await yieldToLoop();
      if (this.closed || !this.core.hasWork()) return null;
      const out = this.core.step();
      if (out !== null) {
        this.stats = out.schedulerStats;
        return out;
      }
      await sleep(1);
    }
  }

  lastStats(): SchedulerStats | null {
    return this.stats ?? this.core.getStats();
  }

  async resetPrefixCache(): Promise<boolean> {
    return this.core.resetPrefixCache();
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.core.abortAll();
    this.release();
  }
}
