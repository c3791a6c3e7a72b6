import { expect, it } from 'vitest';

it('exports exactly the documented surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "EngineCoreOutputBatch",
      "GREEDY_TEMPERATURE_EPSILON",
      "InternalError",
      "InvalidArgumentError",
      "RequestStatus",
      "SampledTokenIds",
      "SamplingParams",
      "VllmError",
      "blockId",
      "cachedRequestColumnsOf",
      "cachedRequestDataFromColumns",
      "childRequestId",
      "describeValue",
      "didYouMean",
      "emptyKVCacheOps",
      "finishReasonOf",
      "invariant",
      "isFinished",
      "makeEmptySchedulerOutput",
      "makeEmptySchedulerStats",
      "requestId",
      "requestStatusName",
      "resolveSamplingParams",
      "sampledTokenColumnsOf",
    ]
  `);
});
