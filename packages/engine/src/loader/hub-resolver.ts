import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelLoadError } from '../model/model-error.js';
import { downloadSnapshot, type DownloadProgress } from './hub-download.js';

/** Options of {@link resolveModelPath}. */
export interface ResolveModelOptions {
  /** Branch, tag or commit of a Hub model (default `main`). */
  readonly revision?: string;
  /** Download progress (bytes so far, bytes in total); default: a progress bar on an interactive stderr. */
  readonly onDownloadProgress?: DownloadProgress;
  /** Environment to read `HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_ENDPOINT`, `HF_TOKEN` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

/**
 * The Hugging Face hub cache folder: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
 * @param env environment variables
 */
export function hubCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface'), 'hub');
}

/**
 * Resolves a model argument to a local folder: an existing folder is returned as is; a Hub id
 * (`org/name`) is looked up in the Hugging Face cache layout
 * (`models--org--name/refs/<revision>` -> `snapshots/<commit>/`) and, unless `HF_HUB_OFFLINE` is
 * set, downloaded into that layout from `HF_ENDPOINT` (default https://huggingface.co).
 *
 * @param modelOrHubId a folder or a Hub id
 * @param options revision, progress callback, environment
 * @returns the folder holding config.json
 * @throws ModelLoadError (`model_not_found`) when neither a folder nor a cached or downloadable Hub model
 * @example
 * ```ts
 * const dir = await resolveModelPath('Qwen/Qwen3-0.6B');   // ~/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B/snapshots/<sha>
 * ```
 */
export async function resolveModelPath(modelOrHubId: string, options: ResolveModelOptions = {}): Promise<string> {
  if (typeof modelOrHubId !== 'string' || modelOrHubId.length === 0) {
    throw new ModelLoadError('model_not_found', `model must be a folder or a Hub id such as "org/name" (got ${JSON.stringify(modelOrHubId)})`);
  }
  if (existsSync(modelOrHubId) && statSync(modelOrHubId).isDirectory()) return resolve(modelOrHubId);
  if (!HUB_ID.test(modelOrHubId) || modelOrHubId.includes('..')) {
    throw new ModelLoadError('model_not_found', `model "${modelOrHubId}" is neither an existing folder nor a Hub id of the form "org/name"`);
  }
  const env = options.env ?? process.env;
  const revision = options.revision ?? 'main';
  const repoDir = join(hubCacheDir(env), `models--${modelOrHubId.replace('/', '--')}`);
  const cached = cachedSnapshot(repoDir, revision);
  if (cached) return cached;
  if (isTruthy(env.HF_HUB_OFFLINE)) {
    throw new ModelLoadError(
      'model_not_found',
      `model "${modelOrHubId}" (revision ${revision}) is not in the Hugging Face cache at ${repoDir} and HF_HUB_OFFLINE is set`,
    );
  }
  return downloadSnapshot({
    repoId: modelOrHubId,
    revision,
    repoDir,
    endpoint: (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token: env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN ?? null,
    onProgress: options.onDownloadProgress ?? null,
  });
}

function cachedSnapshot(repoDir: string, revision: string): string | null {
  const ref = join(repoDir, 'refs', revision);
  const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : revision;
  const dir = join(repoDir, 'snapshots', commit);
  return existsSync(join(dir, 'config.json')) ? dir : null;
}

function isTruthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}
