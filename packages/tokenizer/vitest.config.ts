import { definePackageTests } from '@vllm-ts/vitest-config';

// Files share one module graph per worker, so the big fixture tokenizers are built once (src/testing).
export default definePackageTests('tokenizer', { isolate: false });
