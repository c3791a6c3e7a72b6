import { expect, it } from 'vitest';

it('exports exactly the documented surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "GREEDY_TEMPERATURE_EPSILON",
      "InternalError",
      "InvalidArgumentError",
      "RequestStatus",
      "SamplingParams",
      "VllmError",
      "blockId",
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
    ]
  `);
});
