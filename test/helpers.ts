/** Closed-form problems and small numeric helpers shared by the tests and benchmarks. */

export type Vec = Float64Array;

/** Least-squares slope of log(err) against log(h). */
export function logSlope(hs: number[], errs: number[]): number {
  const xs = hs.map(Math.log);
  const ys = errs.map(Math.log);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** max_i |a_i − b_i| / (atol + rtol·|b_i|): the error in units of the requested tolerance. */
export function scaledError(a: ArrayLike<number>, exact: ArrayLike<number>, rtol: number, atol: number): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - exact[i]!) / (atol + rtol * Math.abs(exact[i]!)));
  return m;
}

/** Matrix exponential by scaling and squaring a Taylor series (float64, small dense matrices). */
export function expm(A: number[][], t: number): number[][] {
  const n = A.length;
  const norm = Math.max(...A.map((r) => r.reduce((s, x) => s + Math.abs(x * t), 0)));
  const squarings = Math.max(0, Math.ceil(Math.log2(norm)) + 4);
  const scale = t / 2 ** squarings;
  const eye = (): number[][] => A.map((_, i) => A.map((__, j) => (i === j ? 1 : 0)));
  const mul = (X: number[][], Y: number[][]): number[][] =>
    X.map((row) => Y[0]!.map((_, j) => row.reduce((s, x, k) => s + x * Y[k]![j]!, 0)));
  let term = eye();
  let sum = eye();
  for (let k = 1; k <= 30; k++) {
    term = mul(term, A.map((r) => r.map((x) => (x * scale) / k)));
    sum = sum.map((r, i) => r.map((x, j) => x + term[i]![j]!));
  }
  for (let s = 0; s < squarings; s++) sum = mul(sum, sum);
  void n;
  return sum;
}

export function matVec(M: number[][], v: ArrayLike<number>): Float64Array {
  return Float64Array.from(M, (row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
}

/** A non-normal 3×3 linear system y′ = A y used for convergence orders. */
export const LINEAR_A = [
  [-0.4, 1.5, 0.3],
  [-1.5, -0.4, 0.8],
  [0.0, -0.2, -0.9],
];
export const linearField = (_t: number, y: Vec): number[] =>
  LINEAR_A.map((row) => row[0]! * y[0]! + row[1]! * y[1]! + row[2]! * y[2]!);
export const LINEAR_Y0 = Float64Array.of(1, 0.5, -0.25);
export const linearExact = (t: number): Float64Array => matVec(expm(LINEAR_A, t), LINEAR_Y0);

export interface ClosedForm {
  name: string;
  f: (t: number, y: Vec) => ArrayLike<number>;
  y0: Float64Array;
  t1: number;
  exact: (t: number) => Float64Array;
}

const LOGISTIC = { r: 1.5, K: 2, y0: 0.1 };
const KEPLER_E = 0.5;

/** Solves Kepler's equation M = E − e sin E by Newton's method. */
export function keplerE(M: number, e: number): number {
  let E = M + e * Math.sin(M);
  for (let i = 0; i < 50; i++) {
    const d = (E - e * Math.sin(E) - M) / (1 - e * Math.cos(E));
    E -= d;
    if (Math.abs(d) < 1e-16) break;
  }
  return E;
}

export const CLOSED_FORMS: ClosedForm[] = [
  {
    name: 'exponential decay',
    f: (_t, y) => [-0.7 * y[0]!, -3 * y[1]!],
    y0: Float64Array.of(1, 2),
    t1: 2,
    exact: (t) => Float64Array.of(Math.exp(-0.7 * t), 2 * Math.exp(-3 * t)),
  },
  {
    name: 'harmonic oscillator',
    f: (_t, y) => [y[1]!, -4 * y[0]!],
    y0: Float64Array.of(1, 0),
    t1: 3,
    exact: (t) => Float64Array.of(Math.cos(2 * t), -2 * Math.sin(2 * t)),
  },
  {
    name: 'logistic',
    f: (_t, y) => [LOGISTIC.r * y[0]! * (1 - y[0]! / LOGISTIC.K)],
    y0: Float64Array.of(LOGISTIC.y0),
    t1: 5,
    exact: (t) => {
      const { r, K, y0 } = LOGISTIC;
      const e = Math.exp(r * t);
      return Float64Array.of((K * y0 * e) / (K + y0 * (e - 1)));
    },
  },
  {
    name: 'Kepler two-body (e = 0.5)',
    f: (_t, y) => {
      const r3 = Math.hypot(y[0]!, y[1]!) ** 3;
      return [y[2]!, y[3]!, -y[0]! / r3, -y[1]! / r3];
    },
    y0: Float64Array.of(1 - KEPLER_E, 0, 0, Math.sqrt((1 + KEPLER_E) / (1 - KEPLER_E))),
    t1: 2 * Math.PI,
    exact: (t) => {
      const e = KEPLER_E;
      const E = keplerE(t, e);
      const d = 1 - e * Math.cos(E);
      const s = Math.sqrt(1 - e * e);
      return Float64Array.of(Math.cos(E) - e, s * Math.sin(E), -Math.sin(E) / d, (s * Math.cos(E)) / d);
    },
  },
];

export const FIXED_METHODS = ['euler', 'midpoint', 'heun', 'rk4'] as const;
export const ADAPTIVE_METHODS = ['bosh3', 'dopri5', 'tsit5', 'dopri8'] as const;

/** RMS over components of (a − exact)/(atol + rtol·|exact|): the norm the controller itself bounds. */
export function rmsScaledError(a: ArrayLike<number>, exact: ArrayLike<number>, rtol: number, atol: number): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += ((a[i]! - exact[i]!) / (atol + rtol * Math.abs(exact[i]!))) ** 2;
  return Math.sqrt(acc / a.length);
}

export { ARENSTORF, BRUSSELATOR, LOTKA_VOLTERRA, VAN_DER_POL, PROBLEMS } from '../src/ode/problems.js';
export type { Problem } from '../src/ode/problems.js';
