/**
 * Charts as SVG text: log-log line charts (work-precision diagrams: error against NFE or
 * seconds, one line per solver) and a grid that lays several figures out on one canvas.
 */
import { InvalidArgumentError } from '../errors.js';

export interface Series {
  name: string;
  /** [x, y] points; non-positive or non-finite ones are left out of a log axis. */
  points: [number, number][];
}

const W = 560;
const H = 420;
const M = { left: 70, right: 150, top: 36, bottom: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** A log-log line chart of several series with decade ticks and a legend. */
export function logLogChart(series: readonly Series[], { title = '', xLabel = 'x', yLabel = 'y' }: { title?: string; xLabel?: string; yLabel?: string } = {}): string {
  const usable = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y)) }));
  const all = usable.flatMap((s) => s.points);
  if (all.length === 0) throw new InvalidArgumentError('logLogChart', 'series', series.length, 'must hold at least one point with positive finite x and y, got {value} series without one.');
  const lx = all.map(([x]) => Math.log10(x));
  const ly = all.map(([, y]) => Math.log10(y));
  const [x0, x1] = [Math.floor(Math.min(...lx)), Math.ceil(Math.max(...lx) + 1e-9)];
  const [y0, y1] = [Math.floor(Math.min(...ly)), Math.ceil(Math.max(...ly) + 1e-9)];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (x: number) => M.left + ((Math.log10(x) - x0) / Math.max(1, x1 - x0)) * pw;
  const py = (y: number) => M.top + ph - ((Math.log10(y) - y0) / Math.max(1, y1 - y0)) * ph;
  let body = `<rect width="${W}" height="${H}" fill="white"/>`;
  body += `<text x="${M.left + pw / 2}" y="22" font-family="sans-serif" font-size="15" text-anchor="middle">${escapeXml(title)}</text>`;
  for (let e = x0; e <= Math.max(x1, x0 + 1); e++) {
    const x = M.left + ((e - x0) / Math.max(1, x1 - x0)) * pw;
    body += `<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ph}" stroke="#ddd"/><text x="${x}" y="${M.top + ph + 16}" font-family="sans-serif" font-size="11" text-anchor="middle">1e${e}</text>`;
  }
  for (let e = y0; e <= Math.max(y1, y0 + 1); e++) {
    const y = M.top + ph - ((e - y0) / Math.max(1, y1 - y0)) * ph;
    body += `<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#ddd"/><text x="${M.left - 6}" y="${y + 4}" font-family="sans-serif" font-size="11" text-anchor="end">1e${e}</text>`;
  }
  body += `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`;
  body += `<text x="${M.left + pw / 2}" y="${H - 12}" font-family="sans-serif" font-size="12" text-anchor="middle">${escapeXml(xLabel)}</text>`;
  body += `<text transform="translate(16,${M.top + ph / 2}) rotate(-90)" font-family="sans-serif" font-size="12" text-anchor="middle">${escapeXml(yLabel)}</text>`;
  usable.forEach((s, k) => {
    const c = COLOURS[k % COLOURS.length]!;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) body += `<polyline points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="1.8"/>`;
    body += pts.map(([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`).join('');
    const ly0 = M.top + 10 + 18 * k;
    body += `<line x1="${W - M.right + 12}" y1="${ly0}" x2="${W - M.right + 32}" y2="${ly0}" stroke="${c}" stroke-width="2.5"/><text x="${W - M.right + 38}" y="${ly0 + 4}" font-family="sans-serif" font-size="12">${escapeXml(s.name)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${body}</svg>`;
}

/**
 * Lays out SVG figures (each a complete `<svg>` with a viewBox) in a grid: `rows[i][j]` goes to
 * row i, column j, scaled to `cell` pixels wide, with an optional label left of each row.
 */
export function gridFigure(rows: readonly (readonly string[])[], { cell = 260, labels = [], title = '' }: { cell?: number; labels?: readonly string[]; title?: string } = {}): string {
  const cols = Math.max(1, ...rows.map((r) => r.length));
  const left = labels.length ? 90 : 0;
  const top = title ? 30 : 0;
  const width = left + cols * cell;
  const height = top + rows.length * cell;
  let body = `<rect width="${width}" height="${height}" fill="white"/>`;
  if (title) body += `<text x="${width / 2}" y="20" font-family="sans-serif" font-size="16" text-anchor="middle">${escapeXml(title)}</text>`;
  rows.forEach((row, i) => {
    if (labels[i]) body += `<text x="8" y="${top + i * cell + cell / 2}" font-family="sans-serif" font-size="14">${escapeXml(labels[i]!)}</text>`;
    row.forEach((svg, j) => {
      const open = svg.indexOf('<svg');
      if (open < 0) throw new InvalidArgumentError('gridFigure', `rows[${i}][${j}]`, svg.slice(0, 40), 'must be SVG text starting with <svg, got {value}.');
      const inner = svg.slice(open).replace(/^<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"/, '<svg$1').replace(/^<svg/, `<svg x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}"`);
      body += inner;
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${body}</svg>`;
}
