import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import cliProgress from 'cli-progress';
import { ModelLoadError } from '../model/model-error.js';

/** Progress callback: bytes downloaded so far and in total. */
export type DownloadProgress = (downloadedBytes: number, totalBytes: number) => void;

/** What {@link downloadSnapshot} needs. */
export interface DownloadRequest {
  readonly repoId: string;
  readonly revision: string;
  /** `<cache>/models--org--name`. */
  readonly repoDir: string;
  /** e.g. `https://huggingface.co`, no trailing slash. */
  readonly endpoint: string;
  readonly token: string | null;
  readonly onProgress: DownloadProgress | null;
}

interface Sibling {
  rfilename: string;
  size?: number;
}

const OTHER_WEIGHTS = /\.(bin|pt|pth|h5|msgpack|onnx|gguf|ckpt|ot)$/;

/**
 * Downloads the files an engine needs (configs, tokenizer files, safetensors weights) of one Hub
 * revision into the Hugging Face cache layout: `blobs/<etag>`, `snapshots/<commit>/<file>` (a
 * relative symlink, or a copy where links are refused) and `refs/<revision>`. Each blob is written
 * to a temporary name and renamed once complete, so an interrupted download leaves no partial file.
 *
 * @param req repository, revision, cache folder, endpoint, token, progress
 * @returns the snapshot folder
 * @throws ModelLoadError (`model_not_found`) when the Hub does not know the model or a download fails
 */
export async function downloadSnapshot(req: DownloadRequest): Promise<string> {
  const headers: Record<string, string> = req.token ? { authorization: `Bearer ${req.token}` } : {};
  const infoUrl = `${req.endpoint}/api/models/${req.repoId}/revision/${encodeURIComponent(req.revision)}?blobs=true`;
  const info = (await fetchOk(infoUrl, headers, req.repoId).then((r) => r.json())) as { sha?: string; siblings?: Sibling[] };
  if (typeof info.sha !== 'string' || !Array.isArray(info.siblings)) {
    throw new ModelLoadError('model_not_found', `the Hub answered ${infoUrl} without "sha" and "siblings"`);
  }
  const commit = info.sha;
  const names = info.siblings.map((s) => s.rfilename);
  const hasSafetensors = names.some((n) => n.endsWith('.safetensors'));
  const wanted = info.siblings.filter(
    (s) => !s.rfilename.includes('/') && !OTHER_WEIGHTS.test(s.rfilename) && (hasSafetensors || !s.rfilename.endsWith('.safetensors')) && !/^\.|\.md$/.test(s.rfilename),
  );
  if (!wanted.some((s) => s.rfilename === 'config.json')) {
    throw new ModelLoadError('model_not_found', `Hub model "${req.repoId}" has no config.json`);
  }
  const snapshot = join(req.repoDir, 'snapshots', commit);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(req.repoDir, 'blobs'), { recursive: true });
  const total = wanted.reduce((a, s) => a + (s.size ?? 0), 0);
  const bar = req.onProgress === null && process.stderr.isTTY ? progressBar(req.repoId, total) : null;
  const report = req.onProgress ?? ((done: number, all: number) => bar?.update(done, { total: all }));
  let done = 0;
  try {
    for (const s of wanted) {
      const target = join(snapshot, s.rfilename);
      if (existsSync(target)) {
        done += s.size ?? 0;
        continue;
      }
      const url = `${req.endpoint}/${req.repoId}/resolve/${commit}/${encodeURIComponent(s.rfilename)}`;
      const res = await fetchOk(url, headers, req.repoId);
      const blob = await streamToBlob(res, req.repoDir, (n) => {
        done += n;
        report(done, Math.max(total, done));
      });
      linkOrCopy(blob, target);
    }
  } finally {
    bar?.stop();
  }
  if (req.revision !== commit) {
    mkdirSync(join(req.repoDir, 'refs'), { recursive: true });
    writeFileSync(join(req.repoDir, 'refs', req.revision), commit);
  }
  return snapshot;
}

async function fetchOk(url: string, headers: Record<string, string>, repoId: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (cause) {
    throw new ModelLoadError('model_not_found', `cannot reach ${url} to download "${repoId}" (set HF_HUB_OFFLINE=1 to use the cache only)`, { cause });
  }
  if (!res.ok) {
    const hint = res.status === 401 || res.status === 403 ? ' (gated or private model: set HF_TOKEN)' : '';
    throw new ModelLoadError('model_not_found', `GET ${url} answered ${res.status} ${res.statusText}${hint}`);
  }
  return res;
}

/** Streams a response into `blobs/<etag>` (sha256 of the content when no etag), atomically. */
async function streamToBlob(res: Response, repoDir: string, onBytes: (n: number) => void): Promise<string> {
  const tmp = join(repoDir, 'blobs', `.incomplete-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const hash = createHash('sha256');
  const fd = openSync(tmp, 'w');
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        hash.update(chunk);
        onBytes(chunk.length);
      }
    }
  } catch (cause) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new ModelLoadError('model_not_found', `download of ${res.url} was interrupted`, { cause });
  }
  closeSync(fd);
  const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const name = /^[\w-]+$/.test(etag) ? etag : hash.digest('hex');
  const blob = join(repoDir, 'blobs', name);
  renameSync(tmp, blob);
  return blob;
}

function linkOrCopy(blob: string, target: string): void {
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target);
  }
}

function progressBar(repoId: string, total: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    { format: `Downloading ${repoId} [{bar}] {percentage}% | {value}/{total} bytes`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}
