/**
 * Stiff work-precision benchmark (`npx tsx bench/stiff.ts [--quick]`): rodas5, rodas5p, kvaerno5 and auto
 * against scipy's Radau, BDF and LSODA (bench/reference/stiff_scipy.py, run in the same session)
 * on Robertson, HIRES, OREGO and Van der Pol (μ = 1000) at rtol 1e-4, 1e-6, 1e-8. Error is the
 * largest |y − ref| / (atol + rtol·|ref|) over the check points and components, against scipy
 * Radau at rtol 1e-13 (bench/reference/stiff_reference.json, cross-checked here with rodas5 at
 * rtol 1e-12); f-evaluations include the finite-difference Jacobian columns on both sides.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { odeint, HIRES, OREGO, ROBERTSON, VAN_DER_POL_STIFF } from '../src/index.js';
import type { StiffProblem } from '../src/index.js';
import { medianMs } from './timing.js';

const quick = process.argv.includes('--quick');
const RTOLS = quick ? [1e-6] : [1e-4, 1e-6, 1e-8];
const METHODS = ['rodas5', 'rodas5p', 'kvaerno5', 'auto'] as const;
/** Problem, its name in the reference file, and atol as a multiple of rtol (as the python script). */
const PROBLEMS: [StiffProblem, string, number][] = [
  [ROBERTSON, 'Robertson', 1e-6],
  [HIRES, 'HIRES', 1e-3],
  [OREGO, 'OREGO', 1],
  [VAN_DER_POL_STIFF, 'Van der Pol (mu = 1000)', 1],
];

interface Row { problem: string; method: string; rtol: number; atol: number; error: number | null; nfe: number; ms: number; njev?: number; nlu?: number; success?: boolean }
type Reference = Record<string, { ts: number[]; ys: number[][] }>;

const refFile = new URL('./reference/stiff_reference.json', import.meta.url);
const reference = (JSON.parse(readFileSync(refFile, 'utf8')) as { problems: Reference }).problems;

function scaledError(ys: Float64Array[], ref: number[][], rtol: number, atol: number): number {
  let m = 0;
  ref.forEach((r, i) => r.forEach((v, j) => (m = Math.max(m, Math.abs(ys[i]![j]! - v) / (atol + rtol * Math.abs(v))))));
  return m;
}

const rows: Row[] = [];
const crossCheck: Record<string, number> = {};
for (const [p, key, scale] of PROBLEMS) {
  const { ts, ys: ref } = reference[key]!;
  const times = [0, ...ts];
  const tight = odeint(p.f, p.y0, times, { method: 'rodas5', rtol: 1e-12, atol: 1e-12 * scale * 1e-2, maxSteps: 1e7 });
  crossCheck[key] = scaledError(tight.ys.slice(1), ref, 1e-10, 1e-10 * scale);
  for (const rtol of RTOLS) {
    const atol = rtol * scale;
    for (const method of METHODS) {
      const solveOnce = () => odeint(p.f, p.y0, times, { method, rtol, atol, maxSteps: 1e7 });
      const sol = solveOnce();
      const ms = await medianMs(solveOnce, quick ? { time: 20, iterations: 3 } : { time: 200, iterations: 5 });
      rows.push({ problem: key, method, rtol, atol, error: scaledError(sol.ys.slice(1), ref, rtol, atol), nfe: sol.stats.nfe, njev: sol.stats.njev, nlu: sol.stats.nlu, ms });
    }
  }
}

const py = spawnSync('python3', [new URL('./reference/stiff_scipy.py', import.meta.url).pathname, `--rtols=${RTOLS.join(',')}`, '--stdin-reference'], {
  input: JSON.stringify(reference), encoding: 'utf8', maxBuffer: 1 << 24,
});
const scipyRows: Row[] = py.status === 0 ? (JSON.parse(py.stdout) as Row[]) : [];
if (py.status !== 0) console.log(`scipy reference unavailable (${py.stderr.trim().split('\n').pop() ?? py.error}); biflow rows only`);
rows.push(...scipyRows.map((r) => ({ ...r, method: `scipy ${r.method}`, error: r.error ?? null })));

const lines = ['problem                 method          rtol   error/tol    NFE    ms      NFE/Radau  ms/Radau'];
for (const [, key] of PROBLEMS) {
  for (const rtol of RTOLS) {
    const radau = rows.find((r) => r.problem === key && r.rtol === rtol && r.method === 'scipy Radau');
    for (const r of rows.filter((q) => q.problem === key && q.rtol === rtol)) {
      const nfeRatio = radau ? (r.nfe / radau.nfe).toFixed(2) : '-';
      const msRatio = radau ? (r.ms / radau.ms).toFixed(3) : '-';
      lines.push(`${key.slice(0, 23).padEnd(23)} ${r.method.padEnd(15)} ${r.rtol.toExponential(0)}  ${(r.error ?? NaN).toExponential(2).padStart(9)}  ${String(r.nfe).padStart(6)}  ${r.ms.toFixed(2).padStart(7)}  ${nfeRatio.padStart(9)}  ${msRatio.padStart(8)}`);
    }
  }
}
console.log(lines.join('\n'));
console.log('\nreference cross-check (rodas5 at rtol 1e-12 vs scipy Radau at 1e-13, in units of rtol 1e-10):', JSON.stringify(crossCheck));
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`stiff-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, dir);
writeFileSync(file, JSON.stringify({ started: new Date().toISOString(), node: process.version, quick, crossCheck, rows }, null, 2));
console.log(`wrote ${file.pathname}`);
