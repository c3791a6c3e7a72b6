import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One cell of a result table. */
export type Cell = string | number;

/**
 * Formats a number for a table: integers as is, values below 1 with three significant digits, others
 * with `digits` decimals.
 * @param v the value
 * @param digits decimals. Default 2
 * @returns the text
 */
export function fmt(v: Cell, digits = 2): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  // Small values keep three significant digits so sub-second latencies stay readable.
  return Math.abs(v) < 1 ? String(Number(v.toPrecision(3))) : v.toFixed(digits);
}

/**
 * A plain-text table with aligned columns (numbers right-aligned).
 * @param header column titles
 * @param rows the cells
 * @returns the table, lines joined by newlines
 */
export function textTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => fmt(c)))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  const line = (r: readonly string[], raw: readonly Cell[] | null): string =>
    r.map((c, j) => (raw !== null && typeof raw[j] === 'number' ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ').trimEnd();
  return [line(cells[0]!, null), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r, i) => line(cells[i + 1]!, r))].join('\n');
}

/**
 * A GitHub-flavoured markdown table.
 * @param header column titles
 * @param rows the cells
 * @returns the table
 */
export function markdownTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const align = header.map((_, j) => (rows.length > 0 && typeof rows[0]![j] === 'number' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.map((c) => fmt(c)).join(' | ')} |`)].join('\n');
}

/**
 * Writes a JSON file (parents created), pretty-printed.
 * @param file destination
 * @param value any JSON-serializable value
 */
export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
