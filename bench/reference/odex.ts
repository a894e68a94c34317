/**
 * odex — Hairer's ODEX (GBS extrapolation) ported to JavaScript — the float64 reference.
 *
 * It is loaded with `require`: the package is CommonJS and ships its TypeScript source (which
 * does not compile under `strict`) where declarations would be, so the slice of its API used
 * here is typed by hand.
 */
import { createRequire } from 'node:module';

interface OdexSolver {
  relativeTolerance: number | number[];
  absoluteTolerance: number | number[];
  maxSteps: number;
  solve(f: (x: number, y: number[]) => number[], x: number, y0: number[], xEnd: number): {
    y: number[];
    outcome: number;
    nStep: number;
    nAccept: number;
    nReject: number;
    nEval: number;
  };
}

const odex = createRequire(import.meta.url)('odex') as { Solver: new (n: number) => OdexSolver };

/** Solves y′ = f(t, y) with odex from t0 to t1 at rtol = atol = tol. */
export function odexSolve(
  f: (t: number, y: Float64Array, dy: Float64Array) => void,
  y0: Float64Array,
  t0: number,
  t1: number,
  tol: number,
): { y: number[]; nfe: number; nAccepted: number; nRejected: number } {
  const s = new odex.Solver(y0.length);
  s.relativeTolerance = tol;
  s.absoluteTolerance = tol;
  s.maxSteps = 1e6;
  const dy = new Float64Array(y0.length);
  const y = new Float64Array(y0.length);
  // odex's API needs a fresh array from f; this adapter is the minimum it allows.
  const out = s.solve((t, yy) => {
    y.set(yy);
    f(t, y, dy);
    return Array.from(dy);
  }, t0, Array.from(y0), t1);
  if (out.outcome !== 0) throw new Error(`odex did not converge (outcome ${out.outcome})`);
  return { y: out.y, nfe: out.nEval, nAccepted: out.nAccept, nRejected: out.nReject };
}
