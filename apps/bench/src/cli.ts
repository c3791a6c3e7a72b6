#!/usr/bin/env node
// `vllm-ts-bench <subcommand>` (see README.md).
import { buildBenchProgram } from './program.js';

await buildBenchProgram().parseAsync(process.argv);
