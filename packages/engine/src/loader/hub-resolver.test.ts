import { createServer, type Server } from 'node:http';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFixtureDir } from '@vllm-ts/fixtures';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readModelConfig } from '../model/model-config.js';
import { loadModelRunner } from '../runner/model-runner.js';
import { hubCacheDir, resolveModelPath } from './hub-resolver.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const SRC = modelFixtureDir('tiny-llama');
const FILES: Record<string, Buffer> = {
  'config.json': readFileSync(join(SRC, 'config.json')),
  'generation_config.json': readFileSync(join(SRC, 'generation_config.json')),
  'model.safetensors': readFileSync(join(SRC, 'model.safetensors')),
  'tokenizer.json': readFileSync(join(SRC, 'tokenizer.json')),
  'pytorch_model.bin': Buffer.from('not wanted'),
  'README.md': Buffer.from('# card'),
};

/** Serves one model the way the Hub does: the revision API, then /resolve/ (LFS files via a redirect). */
let server: Server;
let endpoint: string;
const requests: string[] = [];
const authHeaders: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url.pathname);
    authHeaders.push(req.headers.authorization);
    if (url.pathname === '/api/models/org/tiny/revision/main') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sha: SHA, siblings: Object.entries(FILES).map(([rfilename, b]) => ({ rfilename, size: b.length })) }));
      return;
    }
    if (url.pathname === '/api/models/org/gated/revision/main') {
      res.statusCode = 401;
      res.end('{"error":"gated"}');
      return;
    }
    const m = /^\/org\/tiny\/resolve\/([0-9a-f]+)\/(.+)$/.exec(url.pathname);
    if (m && m[2] === 'model.safetensors') {
      res.statusCode = 302;
      res.setHeader('location', `/cdn/${m[2]}`);
      res.end();
      return;
    }
    const name = m?.[2] ?? (url.pathname.startsWith('/cdn/') ? url.pathname.slice(5) : undefined);
    const body = name === undefined ? undefined : FILES[decodeURIComponent(name)];
    if (!body) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('etag', `"etag-${decodeURIComponent(name!).replace(/\W/g, '-')}"`);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('resolveModelPath', () => {
  it('returns an existing folder as is and refuses what is neither a folder nor a Hub id', async () => {
    expect(await resolveModelPath(SRC)).toBe(SRC);
    await expect(resolveModelPath('/no/such/dir')).rejects.toMatchObject({ code: 'model_not_found' });
    await expect(resolveModelPath('')).rejects.toMatchObject({ code: 'model_not_found' });
  });

  it('downloads into the HF cache layout, then serves from the cache (also offline)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'vllm-ts-hf-'));
    const env = { HF_HOME: home, HF_ENDPOINT: endpoint, HF_TOKEN: 'hf_test' };
    const progress: [number, number][] = [];
    const dir = await resolveModelPath('org/tiny', { env, onDownloadProgress: (a, b) => progress.push([a, b]) });
    const repo = join(home, 'hub', 'models--org--tiny');
    expect(hubCacheDir(env)).toBe(join(home, 'hub'));
    expect(dir).toBe(join(repo, 'snapshots', SHA));
    expect(readFileSync(join(repo, 'refs', 'main'), 'utf8')).toBe(SHA);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']);
    expect(lstatSync(join(dir, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(FILES['model.safetensors']!)).toBe(true);
    expect(existsSync(join(repo, 'blobs', 'etag-model-safetensors'))).toBe(true);
    expect(readdirSync(join(repo, 'blobs')).some((f) => f.startsWith('.incomplete'))).toBe(false);
    expect(requests).not.toContain(`/org/tiny/resolve/${SHA}/pytorch_model.bin`);
    expect(authHeaders.every((h) => h === 'Bearer hf_test')).toBe(true);
    const total = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json'].reduce((a, f) => a + FILES[f]!.length, 0);
    expect(progress.at(-1)).toEqual([total, total]);
    expect(readModelConfig(dir).architecture).toBe('LlamaForCausalLM');

    const before = requests.length;
    expect(await resolveModelPath('org/tiny', { env })).toBe(dir);
    expect(await resolveModelPath('org/tiny', { env: { HF_HOME: home, HF_HUB_OFFLINE: '1' } })).toBe(dir);
    expect(requests.length).toBe(before);
  });

  it('offline without a cached copy, unknown and gated models: model_not_found with the reason', async () => {
    const home = mkdtempSync(join(tmpdir(), 'vllm-ts-hf-'));
    await expect(resolveModelPath('org/tiny', { env: { HF_HOME: home, HF_HUB_OFFLINE: '1' } })).rejects.toThrow(/not in the Hugging Face cache .* HF_HUB_OFFLINE is set/);
    await expect(resolveModelPath('org/missing', { env: { HF_HOME: home, HF_ENDPOINT: endpoint } })).rejects.toThrow(/answered 404/);
    await expect(resolveModelPath('org/gated', { env: { HF_HOME: home, HF_ENDPOINT: endpoint } })).rejects.toThrow(/401 .*set HF_TOKEN/);
  });

  it('loadModelRunner takes a Hub id through HF_HOME / HF_ENDPOINT', async () => {
    vi.stubEnv('HF_HOME', mkdtempSync(join(tmpdir(), 'vllm-ts-hf-')));
    vi.stubEnv('HF_ENDPOINT', endpoint);
    const runner = await loadModelRunner({ model: 'org/tiny', device: 'cpu' });
    expect(runner.modelConfig.architecture).toBe('LlamaForCausalLM');
    vi.unstubAllEnvs();
  });

  it('device cuda is refused with cuda_unavailable', async () => {
    await expect(loadModelRunner({ model: SRC, device: 'cuda' })).rejects.toMatchObject({ code: 'cuda_unavailable' });
  });
});
