import { expect, it } from 'vitest';

it('spec-decode exposes exactly this surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "MAX_NUM_SPECULATIVE_TOKENS",
      "NgramIndex",
      "NgramProposer",
      "RejectionSampler",
      "SpeculativeDecodingRequiresV1Error",
      "TOKEN_ID_LIMIT",
      "findNgramDraft",
      "resolveSpeculativeConfig",
    ]
  `);
});
