import { defineLibrary } from '@vllm-ts/tsup-config';

// The fixtures package resolves its data next to its own file, so it must stay a runtime import.
export default defineLibrary({ entry: ['src/index.ts', 'src/cli.ts'], dts: false, external: ['@vllm-ts/fixtures'] });
