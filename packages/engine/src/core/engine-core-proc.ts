import { setTimeout as sleep } from 'node:timers/promises';
import { receiveMessageOnPort } from 'node:worker_threads';
import { EngineCoreOutputBatch } from '@vllm-ts/core';
import type { EngineCoreRequest, RequestId } from '@vllm-ts/core';
import { buildEngineCore } from './build-engine-core.js';
import type { EngineCoreDeps } from './build-engine-core.js';
import type { EngineCore } from './engine-core.js';
import { nowSeconds } from './clock.js';
import { serializeError } from './worker-protocol.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const NO_OUTPUTS = new EngineCoreOutputBatch(0).toColumns();

/**
 * The V1 engine-core busy loop, run inside the worker thread: build the core, report ready, then
 * loop — apply queued adds, run a step, send its outputs — until shut down. Messages are read
 * synchronously between steps (and between the forward pass and `updateFromOutput`, so an abort
 * takes effect in the step it arrived in); the loop sleeps on the port only when it has no work.
 *
 * @param init worker data: settings, model folder, request port
 * @param post sends a message to the front end
 * @param deps runner loader and scheduler factory
 */
export async function runEngineCoreProc(
  init: WorkerInit,
  post: (message: FromWorker) => void,
  deps: Pick<EngineCoreDeps, 'loadRunner' | 'createScheduler'>,
): Promise<void> {
  const { port } = init;
  let pendingAdds: EngineCoreRequest[] = [];
  let shutdown = false;
  let core: EngineCore | null = null;
  /** An abort freed blocks since the last message: the front end's stats must not stay stale on an idle engine. */
  let statsChanged = false;

  const handle = (m: ToWorker): void => {
    switch (m.type) {
      case 'add':
        pendingAdds.push(m.request);
        break;
      case 'abort': {
        const ids = new Set<RequestId>(m.reqIds);
        pendingAdds = pendingAdds.filter((r) => !ids.has(r.reqId));
        core?.abortRequests(m.reqIds);
        statsChanged = true;
        break;
      }
      case 'utility':
        post({ type: 'utility_result', id: m.id, result: m.method === 'getStats' ? core?.getStats() : core?.resetPrefixCache() });
        break;
      case 'shutdown':
        shutdown = true;
        break;
    }
  };
  const drain = (): void => {
    for (let r = receiveMessageOnPort(port); r !== undefined; r = receiveMessageOnPort(port)) handle(r.message as ToWorker);
  };

  let built: Awaited<ReturnType<typeof buildEngineCore>>;
  try {
    built = await buildEngineCore(init.settings, init.modelDir, {
      ...deps,
      ...(init.reportProgress ? { onLoadProgress: (loaded: number, total: number) => post({ type: 'progress', loaded, total }) } : {}),
      onError: (error, failed) => post({ type: 'step_error', error: serializeError(error), failed }),
      beforeUpdate: drain,
    });
  } catch (error) {
    post({ type: 'init_failed', error: serializeError(error) });
    port.close();
    return;
  }
  core = built.core;
  post({ type: 'ready', info: built.info, stats: core.getStats() });
  try {
    for (;;) {
      drain();
      if (shutdown) break;
      for (const r of pendingAdds) core.addRequest(r);
      pendingAdds = [];
      const outputs = core.step();
      if (outputs !== null) post({ type: 'outputs', outputs: { ...outputs, outputs: outputs.outputs.toColumns() } });
      else if (statsChanged) post({ type: 'outputs', outputs: { outputs: NO_OUTPUTS, schedulerStats: core.getStats(), timestamp: nowSeconds() } });
      statsChanged = false;
      if (outputs !== null || core.hasWork()) {
        if (outputs === null) await sleep(1); // requests wait on something (a delay, memory): don't spin hot
      } else await new Promise<void>((resolve) => port.once('message', (m: ToWorker) => (handle(m), resolve())));
    }
    core.abortAll();
  } catch (error) {
    post({ type: 'fatal', error: serializeError(error) });
  } finally {
    built.runner.close();
    post({ type: 'closed' });
    port.close();
  }
}
