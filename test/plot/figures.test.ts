import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BiflowError, InvalidArgumentError } from '../../src/errors.js';
import { densityFigure, gridFigure, lineChart, logLogChart, samplesFigure, toPng, trajectoryFigure } from '../../src/plot/index.js';
import type { Extent } from '../../src/plot/index.js';
import { niceTicks } from '../../src/plot/axes.js';
import { decodePng, inkIn } from './png-pixels.js';

/** The inside of the first `<g class="cls">…</g>` (axes groups hold no nested groups). */
function group(svg: string, cls: string): string {
  const m = new RegExp(`<g class="${cls}"[^>]*>(.*?)</g>`).exec(svg);
  if (!m) throw new Error(`no <g class="${cls}"> in the figure`);
  return m[1]!;
}

/** [value, visible text] of each tick label in a fragment (tspans flattened). */
function tickLabels(fragment: string): [number, string][] {
  return [...fragment.matchAll(/<text class="tick-label"[^>]*data-value="([^"]+)"[^>]*>(.*?)<\/text>/g)].map((m) => [Number(m[1]), m[2]!.replace(/<[^>]+>/g, '')]);
}

/** The names in a chart's legend, in order. */
function legendNames(svg: string): string[] {
  return [...svg.matchAll(/<g class="legend-entry">.*?<text[^>]*>([^<]*)<\/text><\/g>/g)].map((m) => m[1]!);
}

const gaussian = (n: number, extent: Extent, s: number) => {
  const [x0, x1, y0, y1] = extent;
  const d = new Float32Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    const x = x0 + ((i + 0.5) * (x1 - x0)) / n;
    const y = y0 + ((j + 0.5) * (y1 - y0)) / n;
    d[j * n + i] = Math.exp(-(x * x + y * y) / (2 * s * s)) / (2 * Math.PI * s * s);
  }
  return d;
};

describe('nice ticks', () => {
  it('steps by 1, 2 or 5 × 10^k and stay inside the range', () => {
    for (const [lo, hi] of [[-4, 4], [0, 1], [-3, 5], [0.0013, 0.0171], [-250, 12000], [2.1, 5.2]] as const) {
      const { values, step } = niceTicks(lo, hi, 5);
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
      expect(values.length).toBeGreaterThanOrEqual(3);
      expect(values.length).toBeLessThanOrEqual(11);
      for (const v of values) expect(v >= lo - 1e-12 && v <= hi + 1e-12).toBe(true);
      // No room for another tick at either end.
      expect(values[0]! - step).toBeLessThan(lo);
      expect(values[values.length - 1]! + step).toBeGreaterThan(hi);
    }
  });
});

describe('2-D figures have axes over their extent', () => {
  it('samples: tick labels are nice values over the extent, with axis labels', () => {
    const svg = samplesFigure(new Float32Array([0, 0.5, 1, 0.2]), [-3, 5, 0, 1], { xLabel: 'feature 1', yLabel: 'feature 2' });
    expect(tickLabels(group(svg, 'x-axis'))).toEqual([[-2, '−2'], [0, '0'], [2, '2'], [4, '4']]);
    expect(tickLabels(group(svg, 'y-axis')).map(([, s]) => s)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(group(svg, 'x-axis')).toContain('>feature 1</text>');
    expect(group(svg, 'y-axis')).toContain('>feature 2</text>');
    expect(svg.match(/<circle/g)).toHaveLength(2);
  });

  it('trajectories get the same axes', () => {
    const svg = trajectoryFigure([[[0, 0]], [[1, 1]]], [-4, 4, -4, 4]);
    expect(tickLabels(group(svg, 'x-axis')).map(([v]) => v)).toEqual([-4, -2, 0, 2, 4]);
    expect(group(svg, 'x-axis')).toContain('>x₁</text>');
  });

  it('density: the colour bar spans the data\'s log-density in nats', () => {
    const n = 40;
    const extent: Extent = [-2, 2, -2, 2];
    const d = gaussian(n, extent, 1);
    const logs = Array.from(d, Math.log);
    const svg = densityFigure(d, n, extent);
    const bar = /<g class="colour-bar" data-lo="([^"]+)" data-hi="([^"]+)">(.*?)<\/g><\/svg>/.exec(svg)!;
    expect(Number(bar[1])).toBeCloseTo(Math.min(...logs), 5);
    expect(Number(bar[2])).toBeCloseTo(Math.max(...logs), 5);
    expect(bar[3]).toContain('log density (nats)');
    const ticks = tickLabels(bar[3]!);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const [v, s] of ticks) {
      expect(v >= Math.min(...logs) - 1e-9 && v <= Math.max(...logs) + 1e-9).toBe(true);
      expect(Number(s.replace('−', '-'))).toBeCloseTo(v, 6);
    }
  });

  it('density: the log scale reaches at most `range` nats below the maximum', () => {
    const n = 30;
    const d = gaussian(n, [-4, 4, -4, 4], 0.3); // tails ~ e^-170 below the peak
    const svg = densityFigure(d, n, [-4, 4, -4, 4], { range: 8 });
    const [lo, hi] = /data-lo="([^"]+)" data-hi="([^"]+)"/.exec(svg)!.slice(1).map(Number);
    expect(hi! - lo!).toBeCloseTo(8, 9);
    const linear = densityFigure(d, n, [-4, 4, -4, 4], { scale: 'linear' });
    expect(linear).toContain('>density</text>');
    expect(Number(/data-lo="([^"]+)"/.exec(linear)![1])).toBe(0);
  });

  it('rejects bad grids and extents before drawing', () => {
    expect(() => densityFigure([1, 2, 3], 2, [-1, 1, -1, 1])).toThrow(InvalidArgumentError);
    expect(() => densityFigure([1], 1, [1, -1, -1, 1])).toThrow(/extent must be \[xmin, xmax, ymin, ymax\]/);
    expect(() => samplesFigure(new Float32Array(2), [0, 0, 0, 1])).toThrow(InvalidArgumentError);
    expect(() => densityFigure([1], 1, [-1, 1, -1, 1], { range: 0 })).toThrow(/range must be a positive number/);
  });
});

describe('charts', () => {
  const sweep = [
    { name: 'dopri5', points: [[14, 7e-3], [30, 5e-4], [100, 4e-7]] as [number, number][] },
    { name: 'tsit5', points: [[20, 1e-3], [250, 1e-6]] as [number, number][] },
  ];

  it('log-log: decade labels 10^k over whole decades, 8 minor ticks per decade, a legend of the series', () => {
    const svg = logLogChart(sweep, { xLabel: 'NFE', yLabel: 'error' });
    expect(tickLabels(group(svg, 'x-axis'))).toEqual([[10, '101'], [100, '102'], [1000, '103']]);
    expect(tickLabels(group(svg, 'y-axis')).map(([v]) => Math.round(Math.log10(v)))).toEqual([-7, -6, -5, -4, -3, -2]);
    expect(group(svg, 'x-axis').match(/class="minor"/g)).toHaveLength(2 * 8);
    expect(group(svg, 'y-axis').match(/class="minor"/g)).toHaveLength(5 * 8);
    expect(legendNames(svg)).toEqual(['dopri5', 'tsit5']);
    expect(group(svg, 'x-axis')).toContain('>NFE</text>');
  });

  it('line charts: nice linear ticks covering the data, a legend only for several series', () => {
    const one = lineChart([{ name: 'loss', points: [[0, 2.13], [50, 3.4], [100, 5.2]] }], { xLabel: 'iteration', yLabel: 'nats' });
    expect(one).not.toContain('class="legend"');
    const y = tickLabels(group(one, 'y-axis')).map(([v]) => v);
    expect(y[0]).toBeLessThanOrEqual(2.13);
    expect(y[y.length - 1]).toBeGreaterThanOrEqual(5.2);
    // The axis ends on labelled ticks: the first at the bottom of the plot box, the last at its top.
    const rows = [...group(one, 'y-axis').matchAll(/<line class="tick" data-value="[^"]+" x1="[^"]+" y1="([^"]+)"/g)].map((m) => Number(m[1]));
    const box = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/.exec(one)!.slice(1).map(Number);
    expect(rows[0]).toBeCloseTo(box[1]! + box[3]!, 1);
    expect(rows[rows.length - 1]).toBeCloseTo(box[1]!, 1);
    const two = lineChart([{ name: 'train', points: [[0, 1], [1, 2]] }, { name: 'valid & test', dash: true, points: [[0, 1.5], [1, 2.5]] }]);
    expect(legendNames(two)).toEqual(['train', 'valid &amp; test']);
    expect(() => logLogChart([{ name: 'a', points: [[0, 1]] }])).toThrow(InvalidArgumentError);
  });

  it('grid: one scale for every panel, sized to the widest', () => {
    const a = samplesFigure([0, 0], [-1, 1, -1, 1]);
    const b = densityFigure([1, 2, 3, 4], 2, [-1, 1, -1, 1]);
    const svg = gridFigure([[a, b]], { cell: 300 });
    const sizes = [...svg.matchAll(/<svg x="[^"]+" y="[^"]+" width="([^"]+)" height="([^"]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const [wa, wb] = [Number(/width="(\d+)"/.exec(a)![1]), Number(/width="(\d+)"/.exec(b)![1])];
    expect(sizes[1]![0]).toBeCloseTo(300, 5);
    expect(sizes[0]![0]).toBeCloseTo((300 * wa) / wb, 0);
    expect(sizes[0]![1]).toBeCloseTo(sizes[1]![1]!, 5); // equal heights: the plots line up
    const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
    expect(new Set(ids).size).toBe(ids.length);
    for (const ref of svg.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(ref[1]);
    expect(() => gridFigure([['<g/>']])).toThrow(InvalidArgumentError);
  });
});

describe('PNG rendering', () => {
  it('draws ticks, labels and the colour bar where the SVG puts them, at the SVG\'s size', async () => {
    const svg = densityFigure(gaussian(20, [-4, 4, -4, 4], 1), 20, [-4, 4, -4, 4], { title: 'T' });
    const [w, h] = [Number(/width="(\d+)"/.exec(svg)![1]), Number(/height="(\d+)"/.exec(svg)![1])];
    const img = decodePng(await toPng(svg));
    expect([img.width, img.height]).toEqual([w, h]);
    // The layout: plot box x 80…500, y 40…460; the colour bar right of it.
    expect(inkIn(img, 80, 462, 500, 485)).toBeGreaterThan(100); // x tick marks and labels
    expect(inkIn(img, 40, 40, 78, 460)).toBeGreaterThan(100); // y tick labels
    expect(inkIn(img, 0, 200, 30, 300)).toBeGreaterThan(30); // rotated y-axis label
    expect(inkIn(img, 200, 490, 380, 515)).toBeGreaterThan(30); // x-axis label
    expect(inkIn(img, 516, 40, 532, 460)).toBeGreaterThan(5000); // the colour bar
    expect(inkIn(img, 540, 40, 580, 460)).toBeGreaterThan(100); // its tick labels
    expect(inkIn(img, 0, 470, 60, 530)).toBe(0); // a corner left blank
  });

  it('refuses to render text without a font, and takes font files', async () => {
    const svg = samplesFigure([0, 0], [-1, 1, -1, 1]);
    await expect(toPng(svg, { systemFonts: false })).rejects.toThrow(BiflowError);
    await expect(toPng(svg, { systemFonts: false })).rejects.toThrow(/fonts-dejavu-core/);
    const font = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
    if (existsSync(font)) expect(inkIn(decodePng(await toPng(svg, { systemFonts: false, fontFiles: [font] })), 80, 462, 500, 485)).toBeGreaterThan(100);
  });
});
