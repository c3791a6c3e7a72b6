import { requestId, type ModelRunnerOutput, type Scheduler } from '@vllm-ts/core';
import { request } from './conformance-suite.js';
import { seededRandom, type SchedulerFactory, type SchedulerFactoryConfig } from './scheduler-factory.js';
import { ScriptedRunner } from './scripted-runner.js';

/** One scheduler-step benchmark case. */
export interface StepBenchCase {
  /** Label in the table. */
  readonly name: string;
  /** Decoding requests kept running. */
  readonly numDecodes: number;
  /** New long prompts added per step (0 = decode only). Default 0. */
  readonly prefillsPerStep?: number;
  /** Length of those prompts. Default 1000. */
  readonly prefillLen?: number;
  /** Prompt length of the decoding requests. Default 128. */
  readonly decodePromptLen?: number;
  /** Steps measured per sample. Default 100. */
  readonly stepsPerSample?: number;
  /** Samples of `stepsPerSample` steps each (all steps are timed one by one). Default 7. */
  readonly samples?: number;
  /** Token budget. Default 8192. */
  readonly maxNumBatchedTokens?: number;
  /** Block size. Default 16. */
  readonly blockSize?: number;
  /** Called right before the measured steps start (e.g. to reset a profiler). */
  readonly onMeasureStart?: () => void;
}

/** Result of {@link benchSchedulerStep} (times are medians over samples, per step). */
export interface StepBenchResult {
  readonly name: string;
  readonly numRunning: number;
  readonly tokensPerStep: number;
  /** Median wall-clock time of `schedule()`. */
  readonly scheduleUs: number;
  /** Median wall-clock time of `updateFromOutput()`. */
  readonly updateUs: number;
  /** Median of `schedule()` + `updateFromOutput()` per step. */
  readonly stepUs: number;
  /** Mean of the same (includes the steps where blocks fill and get hashed, and GC pauses). */
  readonly stepMeanUs: number;
  /** Fastest step: the best estimate of the cost on an idle core when the machine is shared. */
  readonly stepBestUs: number;
  /** Mean process CPU time of the two calls (all threads, GC included). */
  readonly stepCpuUs: number;
  /** `stepUs` per running request, in nanoseconds. */
  readonly perRequestNs: number;
  readonly stepsMeasured: number;
}

/**
 * Times `schedule()` + `updateFromOutput()` per step for a steady load: `numDecodes` requests
 * decoding one token each (prompts of random tokens sharing a 64-token system prompt, prefix caching
 * on), plus, when asked, new long prompts every step that are prefilled in chunks and then finish.
 * The runner (a {@link ScriptedRunner} without KV checks) runs between the two calls and is not timed.
 *
 * @param create builds the scheduler (V0 or V1) from the shared settings
 * @param benchCase the load
 * @returns per-step times (median, mean, best) in microseconds
 * @example
 * ```ts
 * const r = benchSchedulerStep((c) => new Scheduler({ ...c }), { name: 'decode 1024', numDecodes: 1024 });
 * console.log(r.stepUs);
 * ```
 */
export function benchSchedulerStep(create: SchedulerFactory, benchCase: StepBenchCase): StepBenchResult {
  const blockSize = benchCase.blockSize ?? 16;
  const budget = benchCase.maxNumBatchedTokens ?? 8192;
  const promptLen = benchCase.decodePromptLen ?? 128;
  const prefillLen = benchCase.prefillLen ?? 1000;
  const perStep = benchCase.prefillsPerStep ?? 0;
  const stepsPerSample = benchCase.stepsPerSample ?? 100;
  const samples = benchCase.samples ?? 7;
  const totalSteps = stepsPerSample * (samples + 1) + Math.ceil((benchCase.numDecodes * promptLen) / budget) + 10;
  const decodeBlocks = benchCase.numDecodes * Math.ceil((promptLen + blockSize + totalSteps + 1) / blockSize);
  const prefillBlocks = perStep * 64 * Math.ceil((prefillLen + 20) / blockSize);
  const config: SchedulerFactoryConfig = {
    maxModelLen: Math.max(promptLen + blockSize + totalSteps + 8, prefillLen + 64),
    maxNumBatchedTokens: budget,
    maxNumSeqs: benchCase.numDecodes + perStep * 64,
    numGpuBlocks: decodeBlocks + prefillBlocks + 16,
    blockSize,
    enablePrefixCaching: true,
    policy: 'fcfs',
    longPrefillTokenThreshold: 0,
    hashSeed: 'bench',
  };
  const scheduler = create(config);
  const runner = new ScriptedRunner({ numBlocks: config.numGpuBlocks, blockSize, script: (_, k) => 1000 + (k % 1000), verifyKv: false });
  const rand = seededRandom(42);
  const system = Array.from({ length: 64 }, () => Math.floor(rand() * 30_000));
  for (let i = 0; i < benchCase.numDecodes; i++) {
    // Lengths staggered over one block, so blocks fill (and get hashed) on different steps.
    const len = promptLen + (i % blockSize);
    const prompt = [...system, ...Array.from({ length: len - 64 }, () => Math.floor(rand() * 30_000))];
    scheduler.addRequest(request(`d${i}`, prompt, { maxTokens: 1_000_000, ignoreEos: true }));
  }
  let next = 0;
  const addPrefills = (): void => {
    for (let k = 0; k < perStep; k++) {
      const shared = next % 2 === 0 ? system : [];
      const prompt = [...shared, ...Array.from({ length: prefillLen - shared.length }, () => Math.floor(rand() * 30_000))];
      scheduler.addRequest(request(`p${next++}`, prompt, { maxTokens: 16, ignoreEos: true }));
    }
  };
  // Warm up: every decode request admitted and past its prefill.
  let steps = 0;
  while (!allDecoding(runner, benchCase.numDecodes) && steps < totalSteps) {
    addPrefills();
    step(scheduler, runner);
    steps++;
  }
  for (let i = 0; i < stepsPerSample; i++) {
    addPrefills();
    step(scheduler, runner);
  }
  benchCase.onMeasureStart?.();
  const sched: number[] = [];
  const upd: number[] = [];
  const both: number[] = [];
  let cpuUs = 0;
  let tokens = 0;
  let running = 0;
  const measured = samples * stepsPerSample;
  for (let i = 0; i < measured; i++) {
    addPrefills();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = scheduler.schedule();
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    const ro: ModelRunnerOutput = runner.execute(out);
    const c2 = process.cpuUsage();
    const t2 = performance.now();
    scheduler.updateFromOutput(out, ro);
    const t3 = performance.now();
    const c3 = process.cpuUsage(c2);
    cpuUs += c1.user + c1.system + c3.user + c3.system;
    sched.push((t1 - t0) * 1000);
    upd.push((t3 - t2) * 1000);
    both.push((t1 - t0 + t3 - t2) * 1000);
    tokens += out.totalNumScheduledTokens;
    running += out.numScheduledTokens.size;
  }
  const numRunning = Math.round(running / measured);
  const stepUs = median(both);
  return {
    name: benchCase.name,
    numRunning,
    tokensPerStep: Math.round(tokens / measured),
    scheduleUs: median(sched),
    updateUs: median(upd),
    stepUs,
    stepMeanUs: both.reduce((a, b) => a + b, 0) / measured,
    stepBestUs: Math.min(...both),
    stepCpuUs: cpuUs / measured,
    perRequestNs: (stepUs * 1000) / Math.max(numRunning, 1),
    stepsMeasured: measured,
  };
}

function step(s: Scheduler, runner: ScriptedRunner): void {
  const out = s.schedule();
  s.updateFromOutput(out, runner.execute(out));
}

function allDecoding(runner: ScriptedRunner, n: number): boolean {
  for (let i = 0; i < n; i++) if (!runner.isDecoding(requestId(`d${i}`))) return false;
  return true;
}

/**
 * Median of a non-empty list.
 * @param xs numbers
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
