// Shared test preset: tests beside the code, workspace imports resolved to TypeScript source.
import { defineProject } from 'vitest/config';

/**
 * @param {string} name project name shown in the report
 * @param {import('vitest/config').UserWorkspaceConfig['test']} [test] extra test options
 */
export function definePackageTests(name, test = {}) {
  return defineProject({
    resolve: { conditions: ['@vllm-ts/source'] },
    ssr: { resolve: { conditions: ['@vllm-ts/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 30_000,
      clearMocks: true,
      restoreMocks: true,
      passWithNoTests: true,
      ...test,
    },
  });
}
