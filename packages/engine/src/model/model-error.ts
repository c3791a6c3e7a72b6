import { VllmError } from '@vllm-ts/core';

/**
 * A model folder that cannot be used: missing or malformed files, an unsupported architecture,
 * weights that do not match the configuration. `code` says which (`unsupported_model`,
 * `model_load_failed`, `model_not_found`, `cuda_unavailable`).
 */
export class ModelLoadError extends VllmError {
  /**
   * @param code stable code: `unsupported_model`, `model_load_failed`, `model_not_found` or `cuda_unavailable`
   * @param message what was wrong, what was expected, what was received
   * @param options optional `cause`
   */
  constructor(code: 'unsupported_model' | 'model_load_failed' | 'model_not_found' | 'cuda_unavailable', message: string, options: { cause?: unknown } = {}) {
    super(code, `[engine] ${message}`, options);
  }
}
