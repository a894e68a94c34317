/**
 * Charts as SVG text: line charts of named series (training curves; log-log for work-precision
 * diagrams: error against NFE or seconds, one line per solver), with ticks, axis labels and a
 * legend, and a grid that lays several figures out on one canvas.
 */
import { InvalidArgumentError } from '../errors.js';
import { axes, escapeXml, legend, legendWidth, niceTicks, scale, svgDocument, text, tickTarget, title as titleText, SIZES } from './axes.js';
import type { AxisSpec, LegendEntry } from './axes.js';

/** One line of a chart. */
export interface Series {
  name: string;
  /** [x, y] points; non-positive or non-finite ones are left out of a log axis. */
  points: [number, number][];
  /** Draw dots only (observations) instead of a line. */
  dots?: boolean;
  /** Draw the line dashed. */
  dash?: boolean;
  /** CSS colour; default the k-th of a fixed palette. */
  colour?: string;
}

/** Options of {@link lineChart} and {@link logLogChart}. */
export interface ChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

// The plot area keeps one size; a legend widens the figure instead of squeezing the plot.
const PLOT = { w: 480, h: 336 };
const M = { left: 84, top: 40, bottom: 64, right: 20 };
// Tableau-10 order: distinct under the common colour-vision deficiencies for the first few.
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** Data range [lo, hi] of values (positive ones on a log axis) widened to whole ticks. */
function niceRange(values: number[], log: boolean, target: number): [number, number] {
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  if (log) return [10 ** Math.floor(Math.log10(lo) + 1e-9), 10 ** Math.max(Math.ceil(Math.log10(hi) - 1e-9), Math.floor(Math.log10(lo) + 1e-9) + 1)];
  if (!(hi > lo)) return [lo - 1, hi + 1];
  const { step } = niceTicks(lo, hi, target);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

function chart(fn: string, series: readonly Series[], log: boolean, { title = '', xLabel = 'x', yLabel = 'y' }: ChartOptions): string {
  const keep = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y) && (!log || (x > 0 && y > 0));
  const usable = series.map((s) => ({ ...s, points: s.points.filter(keep) }));
  const all = usable.flatMap((s) => s.points);
  if (all.length === 0) throw new InvalidArgumentError(fn, 'series', series.length, `must hold at least one point with finite${log ? ' positive' : ''} x and y, got {value} series without one.`);
  const [x0, x1] = niceRange(all.map((p) => p[0]), log, tickTarget(PLOT.w, 'x'));
  const [y0, y1] = niceRange(all.map((p) => p[1]), log, tickTarget(PLOT.h, 'y'));
  const entries: LegendEntry[] = usable.map((s, k) => ({ name: s.name, colour: s.colour ?? COLOURS[k % COLOURS.length]!, mark: s.dots ? 'dot' : s.dash ? 'dash' : 'line' }));
  const showLegend = series.length > 1;
  const right = showLegend ? M.right + legendWidth(entries) : M.right;
  const box = { x: M.left, y: M.top, w: PLOT.w, h: PLOT.h };
  const [W, H] = [M.left + PLOT.w + right, M.top + PLOT.h + M.bottom];
  const xa: AxisSpec = { lo: x0, hi: x1, log, label: xLabel };
  const ya: AxisSpec = { lo: y0, hi: y1, log, label: yLabel };
  const sx = scale(xa, box.w);
  const sy = scale(ya, box.h);
  const at = ([x, y]: [number, number]) => `${(box.x + sx(x)).toFixed(1)},${(box.y + box.h - sy(y)).toFixed(1)}`;
  let body = titleText(W / 2, M.top - 14, title) + axes(box, xa, ya);
  usable.forEach((s, k) => {
    const c = entries[k]!.colour;
    const pts = log ? [...s.points].sort((a, b) => a[0] - b[0]) : s.points;
    let g = '';
    if (!s.dots && pts.length > 1) g += `<polyline points="${pts.map(at).join(' ')}" fill="none" stroke="${c}" stroke-width="2"${s.dash ? ' stroke-dasharray="6 4"' : ''}/>`;
    // Log-log charts mark each measured point; dense training curves stay plain lines.
    if (s.dots || log || pts.length === 1) g += pts.map((p) => { const [cx, cy] = at(p).split(','); return `<circle cx="${cx}" cy="${cy}" r="${s.dots ? 2.5 : 3}" fill="${c}"/>`; }).join('');
    body += `<g class="series" data-name="${escapeXml(s.name)}">${g}</g>`;
  });
  if (showLegend) body += legend(entries, box.x + box.w + 14, M.top);
  return svgDocument(W, H, body);
}

/** A line chart of named series on linear axes (training curves), with a legend for two or more. */
export function lineChart(series: readonly Series[], options: ChartOptions = {}): string {
  return chart('lineChart', series, false, options);
}

/**
 * A log-log chart of several series (a work-precision diagram): both axes span whole decades,
 * labelled 10^k, with minor ticks at 2…9 × 10^k, points marked, and a legend.
 */
export function logLogChart(series: readonly Series[], options: ChartOptions = {}): string {
  return chart('logLogChart', series, true, options);
}

/** Width and height of an `<svg>` document, read from its root element. */
function svgSize(svg: string, where: string): [number, number] {
  const open = svg.indexOf('<svg');
  const root = open < 0 ? '' : svg.slice(open, svg.indexOf('>', open));
  const w = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const h = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(w > 0 && h > 0)) throw new InvalidArgumentError('gridFigure', where, svg.slice(0, 40), 'must be SVG text starting with <svg width="…" height="…" (as every figure here is), got {value}.');
  return [w, h];
}

/**
 * Lays out SVG figures (each a complete `<svg>` with width, height and a viewBox) in a grid:
 * `rows[i][j]` goes to row i, column j. All figures are scaled by one factor, so that the widest
 * is `cell` pixels wide: their text keeps one size and equal plots stay equal. An optional label
 * goes left of each row.
 */
export function gridFigure(rows: readonly (readonly string[])[], { cell = 260, labels = [], title = '' }: { cell?: number; labels?: readonly string[]; title?: string } = {}): string {
  const sizes = rows.map((row, i) => row.map((svg, j) => svgSize(svg, `rows[${i}][${j}]`)));
  const k = cell / Math.max(1, ...sizes.flat().map(([w]) => w));
  const heights = sizes.map((row) => Math.max(0, ...row.map(([, h]) => h * k)));
  const cols = Math.max(1, ...rows.map((r) => r.length));
  const left = labels.length ? 90 : 0;
  const top = title ? 30 : 0;
  const width = left + cols * cell;
  const height = top + heights.reduce((a, b) => a + b, 0);
  let body = titleText(width / 2, 20, title);
  let y = top;
  rows.forEach((row, i) => {
    if (labels[i]) body += text(8, y + heights[i]! / 2, labels[i]!, { size: SIZES.label, anchor: 'start' });
    row.forEach((svg, j) => {
      const [w, h] = sizes[i]![j]!;
      // Panels reuse ids (clip path, colour bar gradient): suffix them so the document's ids stay unique.
      const inner = svg.slice(svg.indexOf('<svg')).replace(/^<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"/, '<svg$1')
        .replace(/\sid="([^"]+)"/g, ` id="$1-${i}-${j}"`).replace(/url\(#([^)]+)\)/g, `url(#$1-${i}-${j})`);
      body += inner.replace(/^<svg/, `<svg x="${(left + j * cell).toFixed(1)}" y="${y.toFixed(1)}" width="${(w * k).toFixed(1)}" height="${(h * k).toFixed(1)}"`);
    });
    y += heights[i]!;
  });
  return svgDocument(width, height, body);
}
