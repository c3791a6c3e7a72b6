import { VllmError } from '@vllm-ts/core';

/** Speculative decoding was configured on an engine that cannot run it (vLLM's V0 engine). */
export class SpeculativeDecodingRequiresV1Error extends VllmError {
  /** The engine version that was asked for. */
  readonly engineVersion: string;

  /** @param engineVersion the engine version in use (e.g. `v0`) */
  constructor(engineVersion: string) {
    super(
      'speculative_decoding_requires_v1',
      `speculativeConfig needs engine V1 (got engineVersion ${JSON.stringify(engineVersion)}); remove speculativeConfig, or use engineVersion "v1" (VLLM_USE_V1=1, the default)`,
    );
    this.engineVersion = engineVersion;
  }
}
