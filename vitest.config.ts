import { defineConfig } from 'vitest/config';

// One run over every workspace project (each package's own vitest.config.ts), so `npm test`
// prints a single summary. GPU tests report themselves as skipped, with the reason, off the GPU machine.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    reporters: ['default', './tooling/vitest-config/summary-reporter.js'],
    passWithNoTests: false,
  },
});
