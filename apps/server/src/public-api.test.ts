import { expect, it } from 'vitest';

it('exports exactly the public surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "ApiError",
      "ERROR_TABLE",
      "ITL_BUCKETS",
      "REQUEST_LATENCY_BUCKETS",
      "TTFT_BUCKETS",
      "VllmMetrics",
      "build125Buckets",
      "buildProgram",
      "createServer",
      "resolveServeModel",
      "runServe",
      "toErrorResponse",
    ]
  `);
});
