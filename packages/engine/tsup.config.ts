import { defineLibrary } from '@vllm-ts/tsup-config';

// Second entry: the V1 engine-core worker thread, loaded by URL next to index.js.
export default defineLibrary({ entry: { index: 'src/index.ts', 'engine-core-worker': 'src/core/engine-core-worker.ts' } });
