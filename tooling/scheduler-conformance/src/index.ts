// Public surface of @vllm-ts/scheduler-conformance (private, for the schedulers' tests and benches).
export { describeSchedulerConformance, request, drive } from './conformance-suite.js';
export type { ConformanceFeatures } from './conformance-suite.js';
export { runSimulation } from './simulator.js';
export type { SimulationOptions, SimulationReport } from './simulator.js';
export { ScriptedRunner } from './scripted-runner.js';
export type { ScriptedRunnerOptions, TokenScript } from './scripted-runner.js';
export { DEFAULT_FACTORY_CONFIG, schedulerShape, seededRandom } from './scheduler-factory.js';
export type { SchedulerFactory, SchedulerFactoryConfig } from './scheduler-factory.js';
export { benchSchedulerStep, median } from './scheduler-bench.js';
export type { StepBenchCase, StepBenchResult } from './scheduler-bench.js';
