// Interleaved A/B of the step at N running decodes (default 1,024): a scheduler from another
// checkout (A, e.g. `git worktree add /tmp/before HEAD` with its own node_modules/@vllm-ts links)
// beside this tree's (B), alternating blocks of 100 steps in one process so the host's load hits
// both alike (GC is shared, so the allocation of one can land in the other's time).
// Run: BEFORE=/tmp/before npm run bench:ab (in packages/scheduler-v1). Writes bench/results/step-bench-ab.json.
// `bench/prepare-before.sh <rev> <dir>` makes such a checkout; `npm run bench:ab:bundle` bundles the
// A/B into one file for a host without npm (the GPU machine).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as conf from '@vllm-ts/scheduler-conformance';
import * as v1 from '../src/index.js';
import { runStepAB, type AbSide } from './step-bench-ab-run.js';

const before = process.env.BEFORE;
if (before === undefined) throw new Error('set BEFORE to the root of the checkout to compare against');
const a = { conf: await import(`${before}/tooling/scheduler-conformance/src/index.ts`), v1: await import(`${before}/packages/scheduler-v1/src/index.ts`) } as AbSide;
runStepAB(a, { conf, v1 }, {
  n: Number(process.env.N ?? 1024),
  rounds: Number(process.env.ROUNDS ?? 30),
  before,
  resultsDir: join(dirname(fileURLToPath(import.meta.url)), 'results'),
});
