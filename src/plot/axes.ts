/**
 * The parts every figure shares: one font, text, "nice" tick values (1, 2, 5 × 10^k), linear and
 * logarithmic axes with ticks, tick labels and axis labels, and a legend. Elements carry classes
 * (`x-axis`, `y-axis`, `tick`, `legend`, …) and ticks a `data-value`, so tests can read a figure's
 * structure from its SVG text.
 *
 * Why our own SVG and not vega-lite (compiled to SVG, then resvg, measured on this project's
 * figures): vega + vega-lite add 25 MB and 79 packages to an install and take 130 ms (scatter,
 * log-log) to 990 ms (an 80×80 heat map) per figure before rasterising, against 1–31 ms here;
 * their defaults also needed work (seams between heat-map cells, a tick per bin, mixed `0.000001`
 * and `1e-7` log labels). What a figure needs here (nice ticks, decades, a colour bar, a legend)
 * is this file.
 */

/**
 * Font families for all text, first found wins. resvg draws text only with a font it can load:
 * DejaVu Sans and Liberation Sans are what Debian/Ubuntu images ship (`toPng` checks one exists).
 */
export const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/** Text sizes in px, one set for every figure. */
export const SIZES = { title: 16, label: 14, tick: 12, legend: 12 } as const;

/** Escapes the five characters XML gives meaning to. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A `<text>` element; `content` is escaped unless `raw` (for tspans built here). */
export function text(x: number, y: number, content: string, { size = SIZES.tick as number, anchor = 'middle', rotate = 0, cls = '', extra = '', raw = false } = {}): string {
  const t = rotate ? ` transform="rotate(${rotate} ${x.toFixed(1)} ${y.toFixed(1)})"` : '';
  const c = cls ? ` class="${cls}"` : '';
  return `<text${c} x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${size}" text-anchor="${anchor}"${t}${extra}>${raw ? content : escapeXml(content)}</text>`;
}

/** A title centred at `x` above a plot. */
export function title(x: number, y: number, s: string): string {
  return s ? text(x, y, s, { size: SIZES.title, cls: 'title' }) : '';
}

/**
 * Tick values in [lo, hi] at a step of 1, 2 or 5 × 10^k, about `target` of them (Heckbert's
 * "nice numbers"). Returns the values and the step (for formatting).
 */
export function niceTicks(lo: number, hi: number, target = 5): { values: number[]; step: number } {
  if (!(hi > lo)) return { values: [lo], step: 1 };
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const values: number[] = [];
  // A relative slack so 0.1 + 0.2-style rounding does not drop an end tick.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) values.push(k * step === 0 ? 0 : k * step);
  return { values, step };
}

/** A tick label with as many decimals as the step needs, and a true minus sign. */
export function formatTick(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-4) ? v.toExponential(1) : v.toFixed(decimals);
  return s.replace('-', '−');
}

/** A superscript power of ten as text with a raised tspan: 10⁻³ for e = −3. */
function decadeLabel(e: number): string {
  return `10<tspan dy="-6" font-size="${SIZES.tick - 3}">${String(e).replace('-', '−')}</tspan>`;
}

/** The plot area in figure pixels. */
export interface Box { x: number; y: number; w: number; h: number }

/** One axis: its data range, whether it is logarithmic (base 10), and its label. */
export interface AxisSpec { lo: number; hi: number; log?: boolean; label?: string }

/** Maps a data value to a pixel offset in [0, length] along an axis. */
export function scale(a: AxisSpec, length: number): (v: number) => number {
  if (a.log) {
    const [l0, l1] = [Math.log10(a.lo), Math.log10(a.hi)];
    return (v) => ((Math.log10(v) - l0) / (l1 - l0 || 1)) * length;
  }
  return (v) => ((v - a.lo) / (a.hi - a.lo || 1)) * length;
}

interface Tick { value: number; label: string; major: boolean }

/** Ticks of an axis: nice linear values, or decades (labelled) with 2…9 × 10^k between (minor). */
export function axisTicks(a: AxisSpec, target = 5): Tick[] {
  if (!a.log) {
    const { values, step } = niceTicks(a.lo, a.hi, target);
    return values.map((value) => ({ value, label: formatTick(value, step), major: true }));
  }
  const [e0, e1] = [Math.floor(Math.log10(a.lo) + 1e-9), Math.ceil(Math.log10(a.hi) - 1e-9)];
  // Label every decade up to 8 of them, then every 2nd, 3rd … so labels never collide.
  const every = Math.max(1, Math.ceil((e1 - e0 + 1) / 8));
  const ticks: Tick[] = [];
  for (let e = e0; e <= e1; e++) {
    const v = 10 ** e;
    if (v >= a.lo * (1 - 1e-9) && v <= a.hi * (1 + 1e-9)) ticks.push({ value: v, label: (e - e0) % every === 0 ? decadeLabel(e) : '', major: true });
    for (let m = 2; m <= 9; m++) if (m * v > a.lo && m * v < a.hi) ticks.push({ value: m * v, label: '', major: false });
  }
  return ticks;
}

/** About how many ticks an axis of this many px gets: one per 80 px across, 70 px up. */
export function tickTarget(length: number, axis: 'x' | 'y'): number {
  return Math.max(3, Math.round(length / (axis === 'x' ? 80 : 70)));
}

/**
 * The frame of a plot: box, grid lines at major ticks, tick marks outside the box, tick labels
 * and axis labels. Log axes' labels are powers of ten (tspans, so they are emitted raw).
 */
export function axes(box: Box, x: AxisSpec, y: AxisSpec, { grid = true } = {}): string {
  const sx = scale(x, box.w);
  const sy = scale(y, box.h);
  let xs = '';
  for (const t of axisTicks(x, tickTarget(box.w, 'x'))) {
    const px = box.x + sx(t.value);
    const len = t.major ? 6 : 3;
    if (grid && t.major) xs += `<line x1="${px.toFixed(1)}" y1="${box.y}" x2="${px.toFixed(1)}" y2="${box.y + box.h}" stroke="#e3e3e3"/>`;
    xs += `<line class="${t.major ? 'tick' : 'minor'}" data-value="${t.value}" x1="${px.toFixed(1)}" y1="${box.y + box.h}" x2="${px.toFixed(1)}" y2="${box.y + box.h + len}" stroke="#333"/>`;
    if (t.label) xs += text(px, box.y + box.h + 8 + SIZES.tick, t.label, { cls: 'tick-label', raw: Boolean(x.log), extra: ` data-value="${t.value}"` });
  }
  let ys = '';
  for (const t of axisTicks(y, tickTarget(box.h, 'y'))) {
    const py = box.y + box.h - sy(t.value);
    const len = t.major ? 6 : 3;
    if (grid && t.major) ys += `<line x1="${box.x}" y1="${py.toFixed(1)}" x2="${box.x + box.w}" y2="${py.toFixed(1)}" stroke="#e3e3e3"/>`;
    ys += `<line class="${t.major ? 'tick' : 'minor'}" data-value="${t.value}" x1="${box.x - len}" y1="${py.toFixed(1)}" x2="${box.x}" y2="${py.toFixed(1)}" stroke="#333"/>`;
    if (t.label) ys += text(box.x - 9, py + SIZES.tick * 0.35, t.label, { anchor: 'end', cls: 'tick-label', raw: Boolean(y.log), extra: ` data-value="${t.value}"` });
  }
  if (x.label) xs += text(box.x + box.w / 2, box.y + box.h + 22 + 2 * SIZES.tick, x.label, { size: SIZES.label, cls: 'axis-label' });
  if (y.label) ys += text(box.x - 58, box.y + box.h / 2, y.label, { size: SIZES.label, rotate: -90, cls: 'axis-label' });
  return `<g class="x-axis">${xs}</g><g class="y-axis">${ys}</g><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#333"/>`;
}

/** How a legend entry is drawn: a line, a dashed line or a dot. */
export interface LegendEntry { name: string; colour: string; mark?: 'line' | 'dash' | 'dot' }

/** Width in px a legend needs for these names (text widths estimated at 0.6 em a character). */
export function legendWidth(entries: readonly LegendEntry[]): number {
  return 40 + Math.max(0, ...entries.map((e) => e.name.length)) * SIZES.legend * 0.6;
}

/** A legend: one row per entry, its mark then its name, top-left corner at (x, y). */
export function legend(entries: readonly LegendEntry[], x: number, y: number): string {
  const rows = entries.map((e, k) => {
    const cy = y + 10 + 20 * k;
    const mark = e.mark === 'dot' ? `<circle cx="${x + 12}" cy="${cy}" r="3.5" fill="${e.colour}"/>` : `<line x1="${x + 2}" y1="${cy}" x2="${x + 24}" y2="${cy}" stroke="${e.colour}" stroke-width="2.5"${e.mark === 'dash' ? ' stroke-dasharray="6 3"' : ''}/>`;
    return `<g class="legend-entry">${mark}${text(x + 30, cy + SIZES.legend * 0.35, e.name, { size: SIZES.legend, anchor: 'start' })}</g>`;
  });
  return `<g class="legend">${rows.join('')}</g>`;
}

/** A complete `<svg>` document of this size on a white background. */
export function svgDocument(w: number, h: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><rect width="${w}" height="${h}" fill="white"/>${body}</svg>`;
}
