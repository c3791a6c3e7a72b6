// Entry of the V1 engine-core worker thread (built as dist/engine-core-worker.js).
import { parentPort, workerData } from 'node:worker_threads';
import { loadModelRunner } from '../runner/model-runner.js';
import { runEngineCoreProc } from './engine-core-proc.js';
import { createScheduler } from './scheduler-registry.js';
import type { FromWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('engine-core-worker must run in a worker thread');
await runEngineCoreProc(workerData as WorkerInit, (m: FromWorker) => port.postMessage(m), { loadRunner: loadModelRunner, createScheduler });
