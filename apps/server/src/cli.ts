#!/usr/bin/env node
// `vllm-ts serve [model]`: the OpenAI-compatible server (see README.md).
import { runServe } from './run-serve.js';
import { buildProgram } from './serve-command.js';

await buildProgram(runServe).parseAsync(process.argv);
