import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { barChart, CHART_FONT_FILE } from './charts.js';

describe('barChart', () => {
  it('writes an SVG with the labels and a PNG rendered with the bundled font', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-chart-'));
    const files = await barChart(
      [
        { group: 'v0', series: 'rep 1', value: 10 },
        { group: 'v1', series: 'rep 1', value: 12.5 },
      ],
      { title: 'Speed by engine', yTitle: 'tokens/s', basePath: join(dir, 'c') },
    );
    const svg = readFileSync(files.svg, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('Speed by engine');
    expect(svg).toContain('tokens/s');
    const png = readFileSync(files.png);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(5000);
    expect(readFileSync(CHART_FONT_FILE).length).toBeGreaterThan(100_000);
  });
});
