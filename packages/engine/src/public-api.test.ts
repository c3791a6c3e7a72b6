import { expect, it } from 'vitest';

it('exports exactly the public surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "AsyncLLM",
      "InvalidArgumentError",
      "LLM",
      "LLMEngine",
      "MAX_IN_FLIGHT_STEPS",
      "MAX_NUM_SPECULATIVE_TOKENS",
      "ModelLoadError",
      "NgramIndex",
      "NgramProposer",
      "SUPPORTED_ARCHITECTURES",
      "SamplingParams",
      "SpeculativeDecodingRequiresV1Error",
      "TOKEN_ID_LIMIT",
      "VllmError",
      "defaultModelDir",
      "findNgramDraft",
      "hubCacheDir",
      "loadModelRunner",
      "readModelConfig",
      "resolveEngineArgs",
      "resolveModelPath",
      "resolveSpeculativeConfig",
    ]
  `);
});
