import { defineLibrary } from '@vllm-ts/tsup-config';

export default defineLibrary({ entry: ['src/index.ts', 'src/cli.ts'], dts: false });
