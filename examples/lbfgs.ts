/**
 * A small limited-memory BFGS minimiser (two-loop recursion, backtracking Armijo line search) for
 * float64 parameter fitting with exact gradients. It stops when the gradient norm falls below
 * gtol·max(1, |f|), when a step decreases f by less than ftol·max(1, |f|), or when the line search
 * finds no decrease (`converged` reports only the first).
 *
 * Reference: Nocedal, Wright, "Numerical Optimization", 2nd ed., Springer 2006, Algorithms 7.4–7.5.
 */
/** The minimiser's answer: the point, its value, iterations and function+gradient evaluations. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iters: number;
  evals: number;
  converged: boolean;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** Minimises f from x0 given `fg(x) = { f, g }` with g the exact gradient. */
export function lbfgs(
  fg: (x: Float64Array) => { f: number; g: Float64Array },
  x0: ArrayLike<number>,
  { maxIters = 100, memory = 8, gtol = 1e-6, ftol = 1e-10, maxStep = Infinity }: { maxIters?: number; memory?: number; gtol?: number; ftol?: number; maxStep?: number } = {},
): LbfgsResult {
  let x = Float64Array.from(x0);
  let { f, g } = fg(x);
  let evals = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let iters = 0;
  while (iters < maxIters && Math.sqrt(dot(g, g)) > gtol * Math.max(1, Math.abs(f))) {
    // Two-loop recursion: d = −H g.
    const q = Float64Array.from(g);
    const alpha: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = dot(S[k]!, q) / dot(Y[k]!, S[k]!);
      alpha[k] = a;
      for (let i = 0; i < q.length; i++) q[i] -= a * Y[k]![i]!;
    }
    const gamma = S.length ? dot(S.at(-1)!, Y.at(-1)!) / dot(Y.at(-1)!, Y.at(-1)!) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = dot(Y[k]!, q) / dot(Y[k]!, S[k]!);
      for (let i = 0; i < q.length; i++) q[i] += S[k]![i]! * (alpha[k]! - b);
    }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction: restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      d.set(g.map((v) => -v / Math.max(1, Math.sqrt(dot(g, g)))));
      slope = dot(g, d);
    }
    // The first trial step moves no coordinate by more than maxStep (a trust bound for solves
    // that become stiff or explode far from the data).
    const dmax = d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let t = Math.min(1, maxStep / dmax);
    let next = x.map((v, i) => v + t * d[i]!);
    let trial = fg(next);
    evals++;
    let halvings = 0;
    while (!(trial.f <= f + 1e-4 * t * slope) && halvings < 20) {
      halvings++;
      t /= 2;
      next = x.map((v, i) => v + t * d[i]!);
      trial = fg(next);
      evals++;
    }
    // No sufficient decrease even at 2⁻²⁰ of the step: the gradient is below the solve's accuracy.
    if (!(trial.f <= f + 1e-4 * t * slope)) break;
    const s = next.map((v, i) => v - x[i]!);
    const y = trial.g.map((v, i) => v - g[i]!);
    if (dot(s, y) > 1e-12) {
      S.push(s);
      Y.push(y);
      if (S.length > memory) {
        S.shift();
        Y.shift();
      }
    }
    const decrease = f - trial.f;
    x = next;
    ({ f, g } = trial);
    iters++;
    if (decrease <= ftol * Math.max(1, Math.abs(f))) break;
  }
  return { x, f, iters, evals, converged: Math.sqrt(dot(g, g)) <= gtol * Math.max(1, Math.abs(f)) };
}
