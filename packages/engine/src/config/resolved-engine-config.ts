import type { SupportedArchitecture, ModelDtype } from '../model/model-config.js';
import type { ResolvedSpeculativeConfig } from '../spec-decode/index.js';
import type { EngineVersion } from './engine-args.js';

/** The engine's configuration once the model is loaded: what `AsyncLLM.config` reports. */
export interface ResolvedEngineConfig {
  /** The model folder (or Hub id) as given, or the bundled default model's folder. */
  readonly model: string;
  /** Name reported to clients (default: `model`). */
  readonly servedModelName: string;
  /** The local folder the weights were read from. */
  readonly modelDir: string;
  /** The tokenizer's folder. */
  readonly tokenizer: string;
  readonly maxModelLen: number;
  readonly vocabSize: number;
  readonly architecture: SupportedArchitecture;
  readonly dtype: ModelDtype;
  readonly device: 'cpu' | 'cuda';
  readonly engineVersion: EngineVersion;
  readonly blockSize: number;
  readonly numGpuBlocks: number;
  /** V0 swap-space blocks (0 under V1). */
  readonly numCpuBlocks: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly enablePrefixCaching: boolean;
  readonly enableChunkedPrefill: boolean;
  readonly seed: number;
  readonly speculativeConfig: ResolvedSpeculativeConfig | null;
}
