import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { humanLogStream } from './human-log-stream.js';

it('turns pino JSON lines into vLLM-style text lines', () => {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  const stream = humanLogStream(out);
  const time = new Date(2026, 10, 30, 9, 5, 7).getTime();
  stream.write(`${JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', name: 'vllm-ts', msg: 'received request', requestId: 'cmpl-1', numPromptTokens: 3 })}\n`);
  stream.write(`${JSON.stringify({ level: 50, time, msg: 'boom', err: { message: 'bad', stack: 'Error: bad\n    at x' } })}\n`);
  stream.write('not json\n');
  expect(chunks).toEqual([
    'INFO 11-30 09:05:07 received request requestId=cmpl-1 numPromptTokens=3\n',
    'ERROR 11-30 09:05:07 boom\nError: bad\n    at x\n',
    'not json\n',
  ]);
});
