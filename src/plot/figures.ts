/**
 * Figures of 2-D models as SVG text, each with axes over its extent: a density heat map with a
 * colour bar (log-density in nats by default), a scatter of samples, and paths of points flowing
 * over time. `toPng` (./png.ts) renders them.
 */
import { InvalidArgumentError } from '../errors.js';
import { axes, axisTicks, scale, svgDocument, text, title as titleText, SIZES } from './axes.js';
import type { Box } from './axes.js';

/** [xmin, xmax, ymin, ymax] */
export type Extent = [number, number, number, number];

/** Axis labels shared by the 2-D figures. */
export interface AxisLabels {
  /** Label under the x axis; default `x₁`. */
  xLabel?: string;
  /** Label left of the y axis; default `x₂`. */
  yLabel?: string;
}

// Viridis at ten stops; colours in between are interpolated linearly.
const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];

function colour(v: number): string {
  const x = Math.min(1, Math.max(0, v)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i]!.map((a, k) => Math.round(a + f * (VIRIDIS[i + 1]![k]! - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const SIZE = 420;
const LEFT = 80;
const TOP = 40;
const BOTTOM = 64;
const BOX: Box = { x: LEFT, y: TOP, w: SIZE, h: SIZE };

function checkExtent(fn: string, extent: Extent): void {
  const [x0, x1, y0, y1] = extent;
  if (extent.length !== 4 || !(x1 > x0) || !(y1 > y0) || !extent.every(Number.isFinite)) {
    throw new InvalidArgumentError(fn, 'extent', extent, 'must be [xmin, xmax, ymin, ymax] with finite xmin < xmax and ymin < ymax, got {value}.');
  }
}

/** A square plot over `extent` with axes, `body` drawn inside the box (clipped), `right` px to spare. */
function frame(extent: Extent, title: string, labels: AxisLabels, body: string, right: number, extra = ''): string {
  const [x0, x1, y0, y1] = extent;
  const w = LEFT + SIZE + right;
  const clip = `<clipPath id="plot-area"><rect x="${BOX.x}" y="${BOX.y}" width="${SIZE}" height="${SIZE}"/></clipPath>`;
  return svgDocument(w, TOP + SIZE + BOTTOM, `<defs>${clip}</defs>${titleText(LEFT + SIZE / 2, TOP - 14, title)}` +
    `<g class="plot" clip-path="url(#plot-area)">${body}</g>` +
    axes(BOX, { lo: x0, hi: x1, label: labels.xLabel ?? 'x₁' }, { lo: y0, hi: y1, label: labels.yLabel ?? 'x₂' }, { grid: false }) + extra);
}

/** The plot's x and y scales over an extent (axes.ts's `scale`, as the axes use). */
const extentScales = ([x0, x1, y0, y1]: Extent) => [scale({ lo: x0, hi: x1 }, SIZE), scale({ lo: y0, hi: y1 }, SIZE)] as const;

function points(xy: ArrayLike<number>, extent: Extent, fill: string, r: number): string {
  const [sx, sy] = extentScales(extent);
  let out = '';
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const px = LEFT + sx(xy[i]!);
    const py = TOP + SIZE - sy(xy[i + 1]!);
    if (px >= LEFT && px <= LEFT + SIZE && py >= TOP && py <= TOP + SIZE) out += `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${r}" fill="${fill}"/>`;
  }
  return out;
}

/** A vertical colour bar right of the plot for values lo…hi, with nice ticks and a label. */
function colourBar(lo: number, hi: number, label: string): string {
  const x = LEFT + SIZE + 16;
  const stops = VIRIDIS.map((_, k) => `<stop offset="${k / (VIRIDIS.length - 1)}" stop-color="${colour(k / (VIRIDIS.length - 1))}"/>`).join('');
  let out = `<defs><linearGradient id="viridis" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient></defs>`;
  out += `<rect x="${x}" y="${TOP}" width="16" height="${SIZE}" fill="url(#viridis)" stroke="#333"/>`;
  const sy = scale({ lo, hi }, SIZE);
  for (const t of axisTicks({ lo, hi }, 6)) {
    const y = TOP + SIZE - sy(t.value);
    out += `<line x1="${x + 16}" y1="${y.toFixed(1)}" x2="${x + 21}" y2="${y.toFixed(1)}" stroke="#333"/>`;
    out += text(x + 24, y + SIZES.tick * 0.35, t.label, { anchor: 'start', cls: 'tick-label', extra: ` data-value="${t.value}"` });
  }
  out += text(x + 80, TOP + SIZE / 2, label, { size: SIZES.label, rotate: -90, cls: 'axis-label' });
  return `<g class="colour-bar" data-lo="${lo}" data-hi="${hi}">${out}</g>`;
}

/** Options of {@link densityFigure}. */
export interface DensityFigureOptions extends AxisLabels {
  /** Title above the plot. */
  title?: string;
  /** Points drawn on top as small white dots, row-major [n, 2]. */
  samples?: ArrayLike<number>;
  /**
   * `'log'` (default): colours show log density in nats, clipped to `range` nats below the
   * maximum so near-zero tails do not flatten the picture; `'linear'`: density over its maximum.
   */
  scale?: 'log' | 'linear';
  /** Log scale: how many nats below the maximum the colour bar reaches at most (default 12). */
  range?: number;
  /** Colour bar label; default `log density (nats)` (log) or `density` (linear). */
  colourLabel?: string;
}

/**
 * Heat map of `density` given on an n×n grid over `extent` (row j = y from bottom, column i = x)
 * with axes and a colour bar. On the default log scale the bar spans [max(min log p, max log p −
 * range), max log p] in nats; zero densities take the bottom colour.
 */
export function densityFigure(density: ArrayLike<number>, n: number, extent: Extent, { title = 'density', samples, scale = 'log', range = 12, colourLabel, ...labels }: DensityFigureOptions = {}): string {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('densityFigure', 'n', n, 'must be a positive integer (grid cells per side), got {value}.');
  if (density.length !== n * n) throw new InvalidArgumentError('densityFigure', 'density', density.length, `must have n² = ${n * n} values, got {value}.`);
  if (!(range > 0)) throw new InvalidArgumentError('densityFigure', 'range', range, 'must be a positive number of nats, got {value}. Pass e.g. { range: 12 }.');
  checkExtent('densityFigure', extent);
  const f = scale === 'log' ? (v: number) => (v > 0 ? Math.log(v) : -Infinity) : (v: number) => v;
  let [lo, hi] = [Infinity, -Infinity];
  for (let k = 0; k < density.length; k++) {
    const v = f(density[k]!);
    if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  }
  if (!Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (scale === 'log') lo = Math.max(lo, hi - range);
  else lo = Math.min(0, lo);
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const cell = SIZE / n;
  // crispEdges: anti-aliased neighbouring cells would leave faint seams between them.
  let body = '<g shape-rendering="crispEdges">';
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const v = (f(density[j * n + i]!) - lo) / (hi - lo);
      body += `<rect x="${(LEFT + i * cell).toFixed(2)}" y="${(TOP + SIZE - (j + 1) * cell).toFixed(2)}" width="${(cell + 0.5).toFixed(2)}" height="${(cell + 0.5).toFixed(2)}" fill="${colour(Number.isNaN(v) ? 0 : v)}"/>`;
    }
  }
  body += '</g>';
  if (samples) body += points(samples, extent, 'rgba(255,255,255,0.6)', 1.2);
  return frame(extent, title, labels, body, 120, colourBar(lo, hi, colourLabel ?? (scale === 'log' ? 'log density (nats)' : 'density')));
}

/** Scatter plot of [n, 2] points (row-major) over `extent`, with axes. */
export function samplesFigure(xy: ArrayLike<number>, extent: Extent, { title = 'samples', ...labels }: { title?: string } & AxisLabels = {}): string {
  checkExtent('samplesFigure', extent);
  return frame(extent, title, labels, points(xy, extent, 'rgba(40,80,160,0.55)', 1.5), 30);
}

/**
 * Paths of points flowing over time: `states[k]` holds the points at the k-th time as [n, 2]
 * rows. Each path is a polyline from its first state (light) to its last (dark dot).
 */
export function trajectoryFigure(states: readonly (readonly (readonly number[])[])[], extent: Extent, { title = 'trajectories', ...labels }: { title?: string } & AxisLabels = {}): string {
  checkExtent('trajectoryFigure', extent);
  const [sx, sy] = extentScales(extent);
  const px = (v: number) => (LEFT + sx(v)).toFixed(1);
  const py = (v: number) => (TOP + SIZE - sy(v)).toFixed(1);
  const n = states[0]?.length ?? 0;
  let body = '';
  for (let i = 0; i < n; i++) {
    const pts = states.map((s) => `${px(s[i]![0]!)},${py(s[i]![1]!)}`).join(' ');
    body += `<polyline points="${pts}" fill="none" stroke="rgba(40,80,160,0.35)" stroke-width="1"/>`;
    const end = states[states.length - 1]![i]!;
    body += `<circle cx="${px(end[0]!)}" cy="${py(end[1]!)}" r="1.6" fill="rgb(20,40,100)"/>`;
  }
  return frame(extent, title, labels, body, 30);
}
