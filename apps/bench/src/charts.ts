import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** The bundled font (DejaVu Sans Condensed, Bitstream Vera license): charts never depend on system fonts. */
export const CHART_FONT_FILE = fileURLToPath(new URL('../fonts/DejaVuSansCondensed.ttf', import.meta.url));
const FONT_FAMILY = 'DejaVu Sans Condensed';

/** One bar of a grouped bar chart. */
export interface BarDatum {
  /** Bar group on the x axis (a configuration, a prefix ratio). */
  readonly group: string;
  /** Series within the group (colour). */
  readonly series: string;
  readonly value: number;
}

/** Paths of a written chart. */
export interface ChartFiles {
  readonly svg: string;
  readonly png: string;
}

/**
 * Renders a vega-lite spec to SVG (vega, headless) and PNG (resvg with the bundled font only).
 * @param spec a vega-lite top-level spec
 * @param basePath destination without extension; `.svg` and `.png` are written
 * @returns the two paths
 */
export async function renderChart(spec: vegaLite.TopLevelSpec, basePath: string): Promise<ChartFiles> {
  const compiled = vegaLite.compile({ ...spec, config: { font: FONT_FAMILY, background: 'white', ...spec.config } } as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { font: { fontFiles: [CHART_FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY }, fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
  mkdirSync(dirname(basePath), { recursive: true });
  writeFileSync(`${basePath}.svg`, svg);
  writeFileSync(`${basePath}.png`, png);
  return { svg: `${basePath}.svg`, png: `${basePath}.png` };
}

/**
 * A grouped bar chart (groups on x, series side by side) written as SVG and PNG.
 * @param data the bars
 * @param o title, y-axis title and destination (without extension)
 * @returns the two paths
 */
export function barChart(data: readonly BarDatum[], o: { title: string; yTitle: string; basePath: string }): Promise<ChartFiles> {
  return renderChart(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: o.title,
      width: { step: 28 },
      height: 260,
      data: { values: data.map((d) => ({ ...d })) },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'group', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'series', type: 'nominal', sort: null },
        y: { field: 'value', type: 'quantitative', title: o.yTitle },
        color: { field: 'series', type: 'nominal', sort: null, title: null },
      },
    },
    o.basePath,
  );
}
