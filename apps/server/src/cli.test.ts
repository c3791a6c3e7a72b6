import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelFixtureDir } from '@vllm-ts/fixtures';
import { afterEach, describe, expect, it } from 'vitest';

// `vllm-ts serve` as a user runs it: a child process, from the TypeScript source through tsx (so
// it tests this tree without a build), stopped with SIGTERM.

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const children: ChildProcess[] = [];

function serve(args: string[]): { child: ChildProcess; ready: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@vllm-ts/source', join(ROOT, 'src/cli.ts'), 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, VLLM_TS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready on (http:\/\/[^ ]+)\/v1/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before ready:\n${out}\n${err}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exit, stderr: () => err };
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('vllm-ts serve (child process)', () => {
  it('prints one ready line, serves, and on SIGTERM drains in-flight requests then exits 0', async () => {
    const dir = modelFixtureDir('tiny-qwen3');
    const { child, ready, exit, stderr } = serve([dir, '--port', '0', '--served-model-name', 'tiny', '--api-key', 'k', '--device', 'cpu']);
    const base = await ready;
    const headers = { 'content-type': 'application/json', authorization: 'Bearer k' };
    const models = (await (await fetch(`${base}/v1/models`, { headers })).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);

    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'tiny', prompt: 'Hello', max_tokens: 40, ignore_eos: true, stream: true }),
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    child.kill('SIGTERM');
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"finish_reason":"length"');
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await exit).toBe(0);
    expect(stderr()).toMatch(/SIGTERM/);
  }, 60_000);
});
