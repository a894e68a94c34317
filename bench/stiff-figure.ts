/**
 * Work-precision figure of the stiff benchmark (`npx tsx bench/stiff-figure.ts [results.json]`):
 * one panel per problem, log₁₀ of the achieved error against log₁₀ NFE for rodas5, kvaerno5, auto
 * and scipy's Radau, BDF, LSODA, from bench/baselines/stiff.json (or the file given), written to
 * docs/stiff-work-precision.png.
 */
import { readFileSync } from 'node:fs';
import { lineChart, writePng } from '../examples/common.js';

interface Row { problem: string; method: string; rtol: number; error: number | null; nfe: number }
const file = process.argv[2] ?? new URL('./baselines/stiff.json', import.meta.url).pathname;
const rows = (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows;
const problems = [...new Set(rows.map((r) => r.problem))];
const methods = ['rodas5', 'kvaerno5', 'auto', 'scipy Radau', 'scipy BDF', 'scipy LSODA'];
const colours = ['#1f5fa8', '#c2410c', '#0e7490', '#15803d', '#7e22ce', '#a16207'];
const W = 560;
const H = 400;
const panels = problems.map((p, k) => {
  // error/tol · rtol = max |y − ref| / (atol/rtol + |ref|): a relative error, comparable across tolerances.
  const series = methods.map((m, i) => ({
    name: m, colour: colours[i], dash: m.startsWith('scipy'),
    points: rows.filter((r) => r.problem === p && r.method === m && r.error !== null).sort((a, b) => b.rtol - a.rtol)
      .map((r) => [Math.round(100 * Math.log10(r.nfe)) / 100, Math.log10(r.error! * r.rtol)] as [number, number]),
  })).filter((s) => s.points.length > 0);
  const svg = lineChart(series, { title: p.replace('mu', 'μ'), xLabel: 'log₁₀ NFE', yLabel: 'log₁₀ error' });
  return svg.replace('<svg ', `<svg x="${(k % 2) * W}" y="${Math.floor(k / 2) * H}" `);
});
const rowsOfPanels = Math.ceil(problems.length / 2);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${rowsOfPanels * H}" viewBox="0 0 ${2 * W} ${rowsOfPanels * H}">${panels.join('')}</svg>`;
const out = await writePng(new URL('../docs/', import.meta.url).pathname, 'stiff-work-precision.png', svg);
console.log(`wrote ${out}`);
