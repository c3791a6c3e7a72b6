import { expect, it } from 'vitest';

it('exports exactly the public surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "AsyncLLM",
      "InvalidArgumentError",
      "LLM",
      "LLMEngine",
      "ModelLoadError",
      "SUPPORTED_ARCHITECTURES",
      "SamplingParams",
      "VllmError",
      "defaultModelDir",
      "hubCacheDir",
      "loadModelRunner",
      "readModelConfig",
      "resolveEngineArgs",
      "resolveModelPath",
    ]
  `);
});
