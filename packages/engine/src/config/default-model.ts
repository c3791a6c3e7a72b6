import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VllmError } from '@vllm-ts/core';

/**
 * The folder of the model bundled with `@vllm-ts/engine` (`<package>/default-model`), found from this
 * module's location so it works from TypeScript source, the built `dist/` and an installed package.
 * @returns the folder's absolute path
 * @throws VllmError `model_not_found` when the package has no bundled model
 */
export function defaultModelDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && isEnginePackage(pkg)) break;
    const parent = dirname(dir);
    if (parent === dir) throw missing('could not find the @vllm-ts/engine package folder above this module');
    dir = parent;
  }
  const model = join(dir, 'default-model');
  if (!existsSync(join(model, 'config.json'))) throw missing(`${model} has no config.json`);
  return model;
}

function isEnginePackage(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === '@vllm-ts/engine';
  } catch {
    return false;
  }
}

function missing(detail: string): VllmError {
  return new VllmError('model_not_found', `[engine] no model given and the bundled default model is missing: ${detail}; pass { model: '<folder or hub id>' }`);
}
