import { resolveEngineArgs } from '../config/engine-args.js';
import type { EngineArgs, EngineSettings } from '../config/engine-args.js';
import { defaultModelDir } from '../config/default-model.js';
import type { ResolvedEngineConfig } from '../config/resolved-engine-config.js';
import { buildEngineCore } from '../core/build-engine-core.js';
import type { EngineCoreDeps } from '../core/build-engine-core.js';
import { InprocEngineCoreClient } from '../core/engine-core-client.js';
import type { EngineCoreClient } from '../core/engine-core-client.js';
import { WorkerEngineCoreClient } from '../core/worker-engine-core-client.js';
import type { DetokenizerFactory } from '../output/sequence-state.js';
import { EngineFrontend } from './engine-frontend.js';
import type { PromptEncoder } from './input-processor.js';
import { resolveGenerationDefaults, type GenerationDefaults } from '../sample/generation-defaults.js';

/** What the front end needs from a tokenizer beyond encoding. */
export interface FrontendTokenizer extends PromptEncoder {
  readonly eosTokenId: number | null;
}

/** The pieces a front end is assembled from (the real ones in production, smaller ones in tests). */
export interface FrontendDeps<T extends FrontendTokenizer> {
  /** Local folder of a model folder or Hub id. */
  readonly resolveModelPath: (model: string) => Promise<string>;
  /** Loads the tokenizer of a folder and says how to detokenize with it. */
  readonly loadTokenizer: (dir: string) => Promise<{ tokenizer: T; createDetokenizer: DetokenizerFactory }>;
  /** Used in-process (V0); the V1 worker imports its own. */
  readonly core: Pick<EngineCoreDeps, 'loadRunner' | 'createScheduler'>;
}

/** A started front end with its tokenizer and configuration. */
export interface CreatedFrontend<T> {
  readonly frontend: EngineFrontend;
  readonly tokenizer: T;
  readonly config: ResolvedEngineConfig;
  /** Request defaults from the generation config (`generationConfig` / `overrideGenerationConfig`). */
  readonly generationDefaults: GenerationDefaults;
}

/**
 * Validates the options, resolves the model, starts the engine core (a worker thread for V1, this
 * thread for V0) while loading the tokenizer, resolves the generation-config request defaults, and
 * returns the front end.
 *
 * @param args engine options
 * @param deps model resolution, tokenizer, runner and scheduler
 * @throws InvalidArgumentError `invalid_option`; VllmError `model_not_found`, `unsupported_model`,
 *   `model_load_failed`, `insufficient_kv_cache`
 */
export async function createFrontend<T extends FrontendTokenizer>(args: EngineArgs | undefined, deps: FrontendDeps<T>): Promise<CreatedFrontend<T>> {
  const settings = resolveEngineArgs(args ?? {});
  const onLoadProgress = args?.onLoadProgress;
  const modelDir = settings.model === null ? defaultModelDir() : await deps.resolveModelPath(settings.model);
  const tokenizerDir = settings.tokenizer === null ? modelDir : await deps.resolveModelPath(settings.tokenizer);
  const [tokResult, clientResult] = await Promise.allSettled([
    deps.loadTokenizer(tokenizerDir),
    startClient(settings, modelDir, deps, onLoadProgress),
  ]);
  if (clientResult.status === 'rejected') throw clientResult.reason;
  const client = clientResult.value;
  try {
    if (tokResult.status === 'rejected') throw tokResult.reason;
    const tok = tokResult.value;
    const { info } = client;
    const mc = info.modelConfig;
    const eosTokenId = tok.tokenizer.eosTokenId ?? mc.eosTokenIds[0] ?? null;
    const frontend = new EngineFrontend(settings, client, tok.tokenizer, tok.createDetokenizer, {
      maxModelLen: info.maxModelLen,
      vocabSize: mc.vocabSize,
      eosTokenId,
      extraEosTokenIds: mc.eosTokenIds.filter((t) => t !== eosTokenId),
    });
    const model = settings.model ?? modelDir;
    const config: ResolvedEngineConfig = Object.freeze({
      model,
      servedModelName: settings.servedModelName ?? model,
      modelDir,
      tokenizer: tokenizerDir,
      maxModelLen: info.maxModelLen,
      vocabSize: mc.vocabSize,
      architecture: mc.architecture,
      dtype: mc.dtype,
      device: info.device,
      engineVersion: settings.engineVersion,
      blockSize: settings.blockSize,
      numGpuBlocks: info.numGpuBlocks,
      numCpuBlocks: info.numCpuBlocks,
      maxNumSeqs: info.maxNumSeqs,
      maxNumBatchedTokens: info.maxNumBatchedTokens,
      enablePrefixCaching: settings.enablePrefixCaching,
      enableChunkedPrefill: settings.enableChunkedPrefill,
      seed: settings.seed,
      speculativeConfig: settings.speculativeConfig,
    });
    const generationDefaults = resolveGenerationDefaults(settings.generationConfig, settings.overrideGenerationConfig, modelDir);
    return { frontend, tokenizer: tok.tokenizer, config, generationDefaults };
  } catch (error) {
    await client.shutdown();
    throw error;
  }
}

async function startClient<T extends FrontendTokenizer>(
  settings: EngineSettings,
  modelDir: string,
  deps: FrontendDeps<T>,
  onLoadProgress: ((loaded: number, total: number) => void) | undefined,
): Promise<EngineCoreClient> {
  if (settings.engineVersion === 'v1') {
    return WorkerEngineCoreClient.start({ settings, modelDir, ...(onLoadProgress === undefined ? {} : { onLoadProgress }) });
  }
  const { core, runner, info } = await buildEngineCore(settings, modelDir, {
    ...deps.core,
    ...(onLoadProgress === undefined ? {} : { onLoadProgress }),
  });
  return new InprocEngineCoreClient(core, info, () => runner.close());
}
