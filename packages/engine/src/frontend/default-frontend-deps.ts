import type { Tokenizer } from '@vllm-ts/tokenizer';
import { createScheduler } from '../core/scheduler-registry.js';
import { resolveModelPath } from '../loader/hub-resolver.js';
import { loadModelRunner } from '../runner/model-runner.js';
import type { FrontendDeps } from './create-frontend.js';
import { loadTokenizer } from './load-tokenizer.js';

/** The production pieces: Hub/local model resolution, the real tokenizer, runner and schedulers. */
export const defaultFrontendDeps: FrontendDeps<Tokenizer> = {
  resolveModelPath,
  loadTokenizer,
  core: { loadRunner: loadModelRunner, createScheduler },
};
