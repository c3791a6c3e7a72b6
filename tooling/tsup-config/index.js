// Shared build preset: ESM, Node 20, declarations, workspace and npm dependencies left external.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
export function defineLibrary(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    // Declarations resolve other workspace packages to their built types, not their source.
    dts: { compilerOptions: { customConditions: [] } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
