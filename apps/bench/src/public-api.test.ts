import { expect, it } from 'vitest';

it('exports exactly the documented surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "ALL_ENGINE_CONFIGS",
      "CHART_FONT_FILE",
      "LLAMA31_8B_H200",
      "SONNET_LINES",
      "SeededRandom",
      "arrivalTimes",
      "barChart",
      "buildBenchProgram",
      "computeServeMetrics",
      "customDataset",
      "engineLabel",
      "parseCostModel",
      "parseEngineConfigs",
      "parseGoodput",
      "percentile",
      "prefixRepetitionDataset",
      "randomDataset",
      "readTrace",
      "renderChart",
      "runCompare",
      "runLatency",
      "runOffline",
      "runPrefixCaching",
      "runServeBenchmark",
      "runSimulate",
      "runThroughput",
      "sendCompletion",
      "simulate",
      "sonnetDataset",
      "stepTime",
      "summarize",
    ]
  `);
});
