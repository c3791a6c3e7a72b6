import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { EngineCoreOutputBatch, VllmError } from '@vllm-ts/core';
import type { EngineCoreRequest, RequestId, SchedulerStats } from '@vllm-ts/core';
import type { EngineSettings } from '../config/engine-args.js';
import type { EngineCoreInfo } from './build-engine-core.js';
import type { EngineCoreClient } from './engine-core-client.js';
import type { EngineCoreOutputs } from './engine-core-outputs.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './worker-protocol.js';

/** Options of {@link WorkerEngineCoreClient.start}. */
export interface WorkerClientOptions {
  readonly settings: EngineSettings;
  readonly modelDir: string;
  readonly onLoadProgress?: (loaded: number, total: number) => void;
  /** Called when a step failed requests (they also arrive as `error` outputs). */
  readonly onStepError?: (error: VllmError, failed: readonly RequestId[]) => void;
}

const SHUTDOWN_GRACE_MS = 10_000;

/**
 * V1's process model: the engine core runs its busy loop in a worker thread; this thread sends
 * requests and aborts and receives each step's outputs (structured clones), so tokenizing,
 * detokenizing and stop-string checks here overlap with the forward pass there.
 * The worker does not keep the process alive while no one waits for outputs.
 */
export class WorkerEngineCoreClient implements EngineCoreClient {
  readonly info: EngineCoreInfo;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly queue: EngineCoreOutputs[] = [];
  private readonly waiters: { resolve: (o: EngineCoreOutputs | null) => void; reject: (e: unknown) => void }[] = [];
  private readonly utilities = new Map<number, (result: unknown) => void>();
  private nextUtilityId = 0;
  private stats: SchedulerStats | null = null;
  private dead: VllmError | null = null;
  private closing: Promise<void> | null = null;

  private constructor(worker: Worker, port: MessagePort, info: EngineCoreInfo) {
    this.worker = worker;
    this.port = port;
    this.info = info;
  }

  /**
   * Starts the worker, which loads the model and builds the scheduler, and waits until it is ready.
   * @param opts settings, model folder, progress and error hooks
   * @throws VllmError with the worker's code (`model_load_failed`, `insufficient_kv_cache`, ...) when startup fails
   */
  static async start(opts: WorkerClientOptions): Promise<WorkerEngineCoreClient> {
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { settings: opts.settings, modelDir: opts.modelDir, port: port2, reportProgress: opts.onLoadProgress !== undefined };
    const worker = spawnEngineCoreWorker(init, port2);
    let client: WorkerEngineCoreClient | null = null;
    let stats: SchedulerStats | null = null;
    const info = await new Promise<EngineCoreInfo>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (client !== null) return client.onMessage(m, opts);
        if (m.type === 'progress') opts.onLoadProgress?.(m.loaded, m.total);
        else if (m.type === 'init_failed') reject(deserializeError(m.error));
        else if (m.type === 'ready') {
          stats = m.stats;
          resolve(m.info);
        }
      });
      worker.once('error', (e) => client === null && reject(new VllmError('engine_dead', `[engine] the engine-core worker failed to start: ${String(e)}`, { cause: e })));
      worker.once('exit', (code) => client === null && reject(new VllmError('engine_dead', `[engine] the engine-core worker exited during startup (code ${code})`)));
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    client = new WorkerEngineCoreClient(worker, port1, info);
    client.stats = stats;
    worker.on('error', (e) => client.die(new VllmError('engine_dead', `[engine] the engine core failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => client.die(new VllmError('engine_dead', `[engine] the engine-core worker exited (code ${code})`)));
    worker.unref();
    return client;
  }

  addRequest(request: EngineCoreRequest): void {
    this.send({ type: 'add', request });
  }

  abortRequests(reqIds: readonly RequestId[]): void {
    if (reqIds.length > 0 && this.dead === null) this.send({ type: 'abort', reqIds });
  }

  getOutputs(): Promise<EngineCoreOutputs | null> {
    const next = this.queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.dead !== null) return Promise.reject(this.dead);
    if (this.closing !== null) return Promise.resolve(null);
    this.worker.ref();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  lastStats(): SchedulerStats | null {
    return this.stats;
  }

  resetPrefixCache(): Promise<boolean> {
    if (this.dead !== null) return Promise.reject(this.dead);
    const id = this.nextUtilityId++;
    this.worker.ref();
    return new Promise((resolve) => {
      this.utilities.set(id, (r) => resolve(r === true));
      this.send({ type: 'utility', id, method: 'resetPrefixCache' });
    });
  }

  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) w.resolve(null);
    if (this.dead !== null) return;
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => void this.worker.terminate(), SHUTDOWN_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private send(message: ToWorker): void {
    if (this.dead !== null) throw this.dead;
    this.port.postMessage(message);
  }

  private onMessage(m: FromWorker, opts: WorkerClientOptions): void {
    switch (m.type) {
      case 'outputs': {
        this.stats = m.outputs.schedulerStats;
        const outputs: EngineCoreOutputs = { ...m.outputs, outputs: EngineCoreOutputBatch.fromColumns(m.outputs.outputs) };
        const waiter = this.waiters.shift();
        if (waiter !== undefined) waiter.resolve(outputs);
        else this.queue.push(outputs);
        break;
      }
      case 'utility_result':
        this.utilities.get(m.id)?.(m.result);
        this.utilities.delete(m.id);
        break;
      case 'step_error':
        opts.onStepError?.(deserializeError(m.error), m.failed);
        break;
      case 'fatal':
        this.die(deserializeError(m.error));
        break;
      default:
        break;
    }
    if (this.waiters.length === 0 && this.utilities.size === 0 && this.closing === null) this.worker.unref();
  }

  private die(error: VllmError): void {
    if (this.dead !== null || this.closing !== null) return;
    this.dead = error.code === 'engine_dead' ? error : new VllmError('engine_dead', `[engine] the engine core failed: ${error.message}`, { cause: error });
    for (const w of this.waiters.splice(0)) w.reject(this.dead);
    for (const u of this.utilities.values()) u(false);
    this.utilities.clear();
    this.port.close();
  }
}

const SOURCE_CONDITION_HOOK =
  'export async function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, "@vllm-ts/source"] }); }';

/** Starts the worker from the built `dist/` file, or from TypeScript source (in-repo tests) through tsx. */
function spawnEngineCoreWorker(init: WorkerInit, port: MessagePort): Worker {
  const here = import.meta.url;
  // NOTE: workers inherit the process's execArgv; `--input-type` (node -e scripts) is refused in a worker.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  const options = { workerData: init, transferList: [port], execArgv };
  if (!here.endsWith('.ts')) return new Worker(new URL('./engine-core-worker.js', here), options);
  const entry = new URL('./engine-core-worker.ts', here).href;
  const tsxRoot = dirname(createRequire(fileURLToPath(here)).resolve('tsx/package.json'));
  const api = join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs');
  if (!existsSync(api)) throw new VllmError('engine_dead', `[engine] running from TypeScript source needs tsx's ESM API at ${api}`);
  // NOTE: `--conditions` does not reach worker threads, so a resolve hook adds the source condition.
  const hook = `data:text/javascript,${encodeURIComponent(SOURCE_CONDITION_HOOK)}`;
  const code =
    `import('node:module').then((mod) => { mod.register(${JSON.stringify(hook)}); return import(${JSON.stringify(pathToFileURL(api).href)}); })` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { ...options, eval: true });
}

function deserializeError(e: SerializedError): VllmError {
  const error = new VllmError(e.code ?? 'engine_error', e.message);
  if (e.stack !== undefined) error.stack = e.stack;
  return error;
}
