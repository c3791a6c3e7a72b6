import { defineLibrary } from '@vllm-ts/tsup-config';

// The CLI is a second entry; the bundled font is read from ../fonts relative to the output file.
export default defineLibrary({ entry: ['src/index.ts', 'src/cli.ts'] });
