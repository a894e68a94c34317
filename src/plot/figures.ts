/**
 * Figures as SVG text: a density heat map (optionally with samples on top) and a scatter of
 * samples. `toPng` renders SVG to PNG with @resvg/resvg-js (prebuilt, installed from npm alone).
 */
import { InvalidArgumentError } from '../errors.js';

/** [xmin, xmax, ymin, ymax] */
export type Extent = [number, number, number, number];

// Viridis at nine stops; colours in between are interpolated linearly.
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

const SIZE = 480;
const MARGIN = 36;

function frame(title: string, body: string): string {
  const w = SIZE + 2 * MARGIN;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${w}" viewBox="0 0 ${w} ${w}">` +
    `<rect width="${w}" height="${w}" fill="white"/>` +
    `<text x="${w / 2}" y="${MARGIN * 0.65}" font-family="sans-serif" font-size="15" text-anchor="middle">${escapeXml(title)}</text>` +
    `<g transform="translate(${MARGIN},${MARGIN})">${body}<rect width="${SIZE}" height="${SIZE}" fill="none" stroke="#333"/></g></svg>`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function points(xy: Float32Array, extent: Extent, fill: string, r: number): string {
  const [x0, x1, y0, y1] = extent;
  let out = '';
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const px = ((xy[i]! - x0) / (x1 - x0)) * SIZE;
    const py = SIZE - ((xy[i + 1]! - y0) / (y1 - y0)) * SIZE;
    if (px >= 0 && px <= SIZE && py >= 0 && py <= SIZE) out += `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${r}" fill="${fill}"/>`;
  }
  return out;
}

/**
 * Heat map of `density` given on an n×n grid over `extent` (row j = y from bottom, column i = x),
 * scaled to its maximum.
 */
export function densityFigure(density: ArrayLike<number>, n: number, extent: Extent, { title = 'density', samples }: { title?: string; samples?: Float32Array } = {}): string {
  if (density.length !== n * n) throw new InvalidArgumentError('densityFigure', 'density', density.length, `must have n² = ${n * n} values, got {value}.`);
  let max = 0;
  for (let k = 0; k < density.length; k++) if (density[k]! > max) max = density[k]!;
  const cell = SIZE / n;
  let body = '';
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const v = max > 0 ? density[j * n + i]! / max : 0;
      body += `<rect x="${(i * cell).toFixed(2)}" y="${(SIZE - (j + 1) * cell).toFixed(2)}" width="${(cell + 1).toFixed(2)}" height="${(cell + 1).toFixed(2)}" fill="${colour(v)}"/>`;
    }
  }
  if (samples) body += points(samples, extent, 'rgba(255,255,255,0.6)', 1.2);
  return frame(title, body);
}

/** Scatter plot of [n, 2] points. */
export function samplesFigure(xy: Float32Array, extent: Extent, { title = 'samples' }: { title?: string } = {}): string {
  return frame(title, points(xy, extent, 'rgba(40,80,160,0.55)', 1.5));
}

/** Renders SVG text to PNG bytes (Node). */
export async function toPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  return new Resvg(svg, { fitTo: { mode: 'original' } }).render().asPng();
}

/**
 * Paths of points flowing over time: `states[k]` holds the points at the k-th time as [n, 2]
 * rows. Each path is a polyline from its first state (light) to its last (dark dot).
 */
export function trajectoryFigure(states: readonly (readonly (readonly number[])[])[], extent: Extent, { title = 'trajectories' }: { title?: string } = {}): string {
  const [x0, x1, y0, y1] = extent;
  const px = (v: number) => (((v - x0) / (x1 - x0)) * SIZE).toFixed(1);
  const py = (v: number) => (SIZE - ((v - y0) / (y1 - y0)) * SIZE).toFixed(1);
  const n = states[0]?.length ?? 0;
  let body = '';
  for (let i = 0; i < n; i++) {
    const pts = states.map((s) => `${px(s[i]![0]!)},${py(s[i]![1]!)}`).join(' ');
    body += `<polyline points="${pts}" fill="none" stroke="rgba(40,80,160,0.35)" stroke-width="1"/>`;
    const end = states[states.length - 1]![i]!;
    body += `<circle cx="${px(end[0]!)}" cy="${py(end[1]!)}" r="1.6" fill="rgb(20,40,100)"/>`;
  }
  return frame(title, body);
}
