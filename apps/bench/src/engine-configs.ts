import { InvalidArgumentError } from '@vllm-ts/core';

/** An engine version with its prefix-caching and chunked-prefill switches. */
export interface EngineConfigChoice {
  readonly label: string;
  readonly engineVersion: 'v0' | 'v1';
  readonly enablePrefixCaching: boolean;
  /** Always true for V1 (it has no other mode). */
  readonly enableChunkedPrefill: boolean;
}

/** Every configuration `compare` and `simulate` know: V1 with caching on/off, V0 with caching x chunking. */
export const ALL_ENGINE_CONFIGS: readonly string[] = ['v1+pc', 'v1', 'v0', 'v0+pc', 'v0+cp', 'v0+pc+cp'];

/**
 * Parses configuration labels: `v0` or `v1`, then optional `+pc` (prefix caching) and, for V0,
 * `+cp` (chunked prefill).
 * @param list comma-separated labels, or `all`
 * @returns the configurations in the given order
 * @throws InvalidArgumentError `invalid_option` for an unknown label, listing the known ones
 */
export function parseEngineConfigs(list: string): EngineConfigChoice[] {
  const labels = list === 'all' ? ALL_ENGINE_CONFIGS : list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return labels.map((label) => {
    if (!ALL_ENGINE_CONFIGS.includes(label)) throw new InvalidArgumentError('invalid_option', 'cli', '--configs', `labels among ${ALL_ENGINE_CONFIGS.join(', ')} (or "all")`, label);
    const v = label.startsWith('v1') ? 'v1' : 'v0';
    return { label, engineVersion: v, enablePrefixCaching: label.includes('+pc'), enableChunkedPrefill: v === 'v1' || label.includes('+cp') };
  });
}
