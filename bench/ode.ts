/**
 * Float64 ODE benchmark: work-precision against odex (Hairer's GBS extrapolation, ported to JS)
 * and solver overhead against a hand-specialised dopri5 loop, all measured in one run.
 */
import { odeint } from '../src/index.js';
import type { MethodName } from '../src/index.js';
import { PROBLEMS } from '../test/helpers.js';
import type { Problem } from '../test/helpers.js';

const odexSolve = (p: Problem, tol: number) => odexRaw(p.f, p.y0, 0, p.t1, tol);
import { dopri5Loop } from './reference/dopri5-loop.js';
import { odexSolve as odexRaw } from './reference/odex.js';
import { medianMs, sideBySide } from './timing.js';
import type { TimingOptions } from './timing.js';

const METHODS: MethodName[] = ['bosh3', 'dopri5', 'tsit5', 'dopri8'];

export interface Point {
  solver: string;
  tol: number;
  error: number;
  nfe: number;
  ms: number;
}

export interface ProblemResult {
  problem: string;
  points: Point[];
  /** For each odex point: biflow's best time to reach odex's error, over odex's time. */
  vsOdex: { tol: number; odexError: number; odexMs: number; bestMethod: string; bestMs: number; ratio: number }[];
  /** dopri5 through `odeint` over the hand-specialised loop, same tolerance, same steps. */
  overhead: { tol: number; ratio: number; biflowMs: number; loopMs: number }[];
}

/** Max over components of |y − ref| / max(1, |ref|). */
function errorOf(y: ArrayLike<number>, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(y[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
  return m;
}

/** Time for a work-precision curve to reach `target` error, by log-log interpolation. */
export function timeToReach(points: Point[], target: number): number {
  const pts = [...points].sort((a, b) => b.tol - a.tol); // loose → tight
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    if (p.error > target) continue;
    if (i === 0) return p.ms;
    const q = pts[i - 1]!;
    const s = (Math.log(target) - Math.log(q.error)) / (Math.log(p.error) - Math.log(q.error));
    return Math.exp(Math.log(q.ms) + s * (Math.log(p.ms) - Math.log(q.ms)));
  }
  return Infinity;
}

export async function odeBenchmark({ tols, timing, log }: { tols: number[]; timing: TimingOptions; log: (s: string) => void }): Promise<ProblemResult[]> {
  const results: ProblemResult[] = [];
  for (const p of PROBLEMS) {
    const ref = p.name === 'Arenstorf' ? Array.from(p.y0) : odexSolve(p, 1e-14).y;
    const points: Point[] = [];
    for (const tol of tols) {
      const o = odexSolve(p, tol);
      points.push({ solver: 'odex', tol, error: errorOf(o.y, ref), nfe: o.nfe, ms: await medianMs(() => odexSolve(p, tol), timing) });
      for (const method of METHODS) {
        const run = () => odeint(p.f, p.y0, [0, p.t1], { method, rtol: tol, atol: tol, maxSteps: 1e7 });
        const sol = run();
        points.push({ solver: method, tol, error: errorOf(sol.ys[1]!, ref), nfe: sol.stats.nfe, ms: await medianMs(run, timing) });
      }
    }
    const vsOdex = points.filter((q) => q.solver === 'odex').map((o) => {
      let bestMethod = '-';
      let bestMs = Infinity;
      for (const method of METHODS) {
        const ms = timeToReach(points.filter((q) => q.solver === method), o.error);
        if (ms < bestMs) {
          bestMs = ms;
          bestMethod = method;
        }
      }
      return { tol: o.tol, odexError: o.error, odexMs: o.ms, bestMethod, bestMs, ratio: bestMs / o.ms };
    });
    const overhead = [];
    for (const tol of [tols[0]!, tols[Math.floor(tols.length / 2)]!, tols[tols.length - 1]!]) {
      const r = await sideBySide(
        () => odeint(p.f, p.y0, [0, p.t1], { rtol: tol, atol: tol, maxSteps: 1e7 }),
        () => dopri5Loop(p.f, p.y0, 0, p.t1, tol, tol),
        3, timing,
      );
      overhead.push({ tol, ratio: r.ratio, biflowMs: r.aMs, loopMs: r.bMs });
    }
    results.push({ problem: p.name, points, vsOdex, overhead });
    log(formatProblem(results[results.length - 1]!));
  }
  return results;
}

export function formatProblem(r: ProblemResult): string {
  const lines = [`\n## ${r.problem}`, '', 'solver   tol     error      NFE      ms(p50)'];
  for (const p of r.points) {
    lines.push(`${p.solver.padEnd(8)} ${p.tol.toExponential(0).padEnd(7)} ${p.error.toExponential(2).padEnd(10)} ${String(p.nfe).padStart(7)}  ${p.ms.toFixed(4).padStart(9)}`);
  }
  lines.push('', 'vs odex: time for biflow\'s best method to reach odex\'s error (ratio ≤ 1 meets the target)');
  for (const v of r.vsOdex) {
    lines.push(`  odex tol ${v.tol.toExponential(0).padEnd(6)} error ${v.odexError.toExponential(2).padEnd(9)} odex ${v.odexMs.toFixed(3)} ms, ${v.bestMethod.padEnd(6)} ${v.bestMs.toFixed(3)} ms, ratio ${v.ratio.toFixed(2)}`);
  }
  lines.push('', 'dopri5 overhead: odeint vs the hand-specialised loop, same steps (target ≤ 1.5)');
  for (const o of r.overhead) lines.push(`  tol ${o.tol.toExponential(0).padEnd(6)} ratio ${o.ratio.toFixed(2)}  (${o.biflowMs.toFixed(4)} vs ${o.loopMs.toFixed(4)} ms)`);
  return lines.join('\n');
}
