// Bundles the interleaved A/B (step-bench-ab-run.ts) with both versions imported statically into one
// file with only `node:` imports, for a host without npm (the GPU machine): `node step-bench-ab.mjs`
// there (N and ROUNDS as for bench:ab) prints the table and writes results/step-bench-ab.json
// beside it.
// Run: BEFORE=<dir from prepare-before.sh> npm run bench:ab:bundle (in packages/scheduler-v1);
// writes bench/dist/step-bench-ab.mjs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const before = process.env.BEFORE;
if (before === undefined) throw new Error('set BEFORE to the root of the checkout to compare against (see prepare-before.sh)');
const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
mkdirSync(dist, { recursive: true });
const entry = join(dist, 'step-bench-ab-entry.ts');
const abs = resolve(before);
writeFileSync(
  entry,
  [
    "import { dirname, join } from 'node:path';",
    "import { fileURLToPath } from 'node:url';",
    `import * as aConf from ${JSON.stringify(`${abs}/tooling/scheduler-conformance/src/index.ts`)};`,
    `import * as aV1 from ${JSON.stringify(`${abs}/packages/scheduler-v1/src/index.ts`)};`,
    "import * as conf from '@vllm-ts/scheduler-conformance';",
    "import * as v1 from '../../src/index.js';",
    "import { runStepAB, type AbSide } from '../step-bench-ab-run.js';",
    `runStepAB({ conf: aConf, v1: aV1 } as unknown as AbSide, { conf, v1 }, { n: Number(process.env.N ?? 1024), rounds: Number(process.env.ROUNDS ?? 30), before: ${JSON.stringify(abs)}, resultsDir: join(dirname(fileURLToPath(import.meta.url)), 'results') });`,
    '',
  ].join('\n'),
);
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@vllm-ts/source'],
  outfile: join(dist, 'step-bench-ab.mjs'),
  logLevel: 'warning',
});
console.log(`wrote ${join(dist, 'step-bench-ab.mjs')} (A: ${abs})`);
