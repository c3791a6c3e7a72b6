import { definePackageTests } from '@vllm-ts/vitest-config';

export default definePackageTests('core');
