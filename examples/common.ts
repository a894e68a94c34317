/** Small helpers shared by the examples: flags, output folder, PNG writing, a final JSON line. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toPng } from '../src/plot/index.js';

/** `--name` present on the command line. */
export function flag(name: string, argv = process.argv.slice(2)): boolean {
  return argv.includes(`--${name}`);
}

/** The value after `--name` (or `--name=value`), else `fallback`. */
export function option(name: string, fallback: string, argv = process.argv.slice(2)): string {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1]!;
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}

/** Renders SVG text to `dir/file` as PNG and returns the path written. */
export async function writePng(dir: string, file: string, svg: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const out = path.join(dir, file);
  await writeFile(out, await toPng(svg));
  return out;
}

/** Whether this module is the script node/tsx was started with. */
export function isMain(url: string): boolean {
  return url === `file://${path.resolve(process.argv[1] ?? '')}`;
}

/** An SVG line chart of named series of (x, y) points (training curves), for `writePng`. */
export function lineChart(series: { name: string; points: [number, number][]; dots?: boolean; dash?: boolean; colour?: string }[], { title = '', xLabel = '', yLabel = '' } = {}): string {
  const W = 560;
  const H = 400;
  const m = { l: 64, r: 16, t: 36, b: 44 };
  const all = series.flatMap((s) => s.points);
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const colours = ['#1f5fa8', '#c2410c', '#15803d', '#7e22ce', '#0e7490', '#a16207'];
  let body = `<rect width="${W}" height="${H}" fill="white"/><text x="${W / 2}" y="22" font-family="sans-serif" font-size="15" text-anchor="middle">${title}</text>`;
  body += `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`;
  for (const [v, y] of [[y0, py(y0)], [y1, py(y1)]] as const) body += `<text x="${m.l - 6}" y="${y + 4}" font-family="sans-serif" font-size="11" text-anchor="end">${v.toFixed(2)}</text>`;
  for (const [v, x] of [[x0, px(x0)], [x1, px(x1)]] as const) body += `<text x="${x}" y="${H - m.b + 16}" font-family="sans-serif" font-size="11" text-anchor="middle">${v}</text>`;
  body += `<text x="${W / 2}" y="${H - 8}" font-family="sans-serif" font-size="12" text-anchor="middle">${xLabel}</text>`;
  body += `<text x="14" y="${H / 2}" font-family="sans-serif" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${yLabel}</text>`;
  series.forEach((s, i) => {
    const c = s.colour ?? colours[i % colours.length]!;
    if (s.dots) body += s.points.map(([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${c}"/>`).join('');
    else body += `<polyline points="${s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"${s.dash ? ' stroke-dasharray="6 4"' : ''}/>`;
    body += `<text x="${W - m.r - 8}" y="${m.t + 18 + 16 * i}" font-family="sans-serif" font-size="12" text-anchor="end" fill="${c}">${s.name}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${body}</svg>`;
}
