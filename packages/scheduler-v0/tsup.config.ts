import { defineLibrary } from '@vllm-ts/tsup-config';

export default defineLibrary();
