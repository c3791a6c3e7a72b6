import type { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/**
 * A pino destination that writes vLLM-style lines (`INFO 11-30 10:02:31 message key=value`)
 * instead of JSON, for a terminal. Set `VLLM_TS_LOG_FORMAT=json` to keep pino's JSON.
 *
 * @param out where the lines go (stderr)
 * @returns an object pino can write to
 */
export function humanLogStream(out: Writable): { write(line: string): void } {
  return {
    write(line: string) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
      const pad = (x: number) => String(x).padStart(2, '0');
      const stamp = `${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
      let extra = '';
      for (const [k, v] of Object.entries(o)) {
        if (OMIT.has(k)) continue;
        if (k === 'err' && v && typeof v === 'object') extra += `\n${String((v as { stack?: unknown }).stack ?? (v as { message?: unknown }).message)}`;
        else extra += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
      }
      out.write(`${LEVELS[o.level as number] ?? 'INFO'} ${stamp} ${String(o.msg ?? '')}${extra}\n`);
    },
  };
}
