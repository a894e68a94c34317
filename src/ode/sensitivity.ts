/**
 * Float64 sensitivities for scientific parameter fitting: the continuous adjoint on plain
 * Float64Array states with a user-supplied vector–Jacobian product.
 *
 * For a loss L that depends on the solution at the output times, with dLdy[i] = ∂L/∂y(tᵢ), the
 * adjoint a(t) = ∂L/∂y(t) solves a′ = −aᵀ∂f/∂y backwards, and ∂L/∂p accumulates −aᵀ∂f/∂p.
 * Between output times the augmented state [y, a, a_p] is integrated backwards; at each tᵢ, y is
 * reset to the forward solution and a takes the incoming dLdy[i] (as torchdiffeq's adjoint). With
 * a stiff method (rodas5, kvaerno5, auto) y comes from the forward dense output instead (the
 * "interpolating adjoint"): integrating a stiff y backwards is unstable.
 *
 * References: Chen, Rubanova, Bettencourt, Duvenaud, "Neural Ordinary Differential Equations",
 * NeurIPS 2018, arXiv:1806.07366; Kidger, Chen, Lyons, "Hey, that's not an ODE", ICML 2021
 * (the seminorm).
 *
 * @example
 * const { dLdy0, dLdp } = adjointSensitivity({
 *   f: (t, y, p) => [p[0] * y[0]], vjp: (t, y, p, a) => ({ y: [a[0] * p[0]], p: [a[0] * y[0]] }),
 *   y0: [1], ts: [0, 1], params: [-0.5], dLdy: [[0], [1]], rtol: 1e-10, atol: 1e-12,
 * });
 */
import { InvalidArgumentError } from '../errors.js';
import { odeint } from './odeint.js';
import { isAdaptiveMethod, isStiffMethod } from './tableaux/index.js';
import type { MethodName } from './tableaux/index.js';
import type { SolveStats } from './solve.js';

/** Arguments of {@link adjointSensitivity}: the vector field, its vector–Jacobian product, y0, output times, parameters and ∂L/∂y at those times. */
export interface SensitivityArgs {
  /** dy/dt = f(t, y, p). */
  f: (t: number, y: Float64Array, p: Float64Array) => ArrayLike<number>;
  /** aᵀ∂f/∂y and aᵀ∂f/∂p at (t, y, p). */
  vjp: (t: number, y: Float64Array, p: Float64Array, a: Float64Array) => { y: ArrayLike<number>; p: ArrayLike<number> };
  y0: ArrayLike<number>;
  /** Output times, strictly monotone. */
  ts: ArrayLike<number>;
  params: ArrayLike<number>;
  /** ∂L/∂y(tᵢ), one array per output time (zeros where L does not look). */
  dLdy: ArrayLike<ArrayLike<number>>;
  method?: MethodName;
  /** Fixed-step methods: the step (required for them; adaptive methods use rtol/atol). */
  stepSize?: number;
  rtol?: number;
  atol?: number;
  adjointRtol?: number;
  adjointAtol?: number;
  /** 'seminorm' (default) leaves a_p out of the backward error norm. */
  adjointNorm?: 'rms' | 'seminorm';
  maxSteps?: number;
}

/** Gradients from {@link adjointSensitivity}: ∂L/∂y0 and ∂L/∂p. */
export interface SensitivityResult {
  /** The forward solution at ts. */
  ys: Float64Array[];
  dLdy0: Float64Array;
  dLdp: Float64Array;
  stats: { forward: SolveStats; backward: SolveStats };
}

/**
 * Float64 gradients of a loss on a solve by the continuous adjoint (Chen et al., arXiv:1806.07366).
 *
 * @example
 * ```ts
 * import { adjointSensitivity } from 'biflow';
 *
 * // dy/dt = −p·y, L = y(1): dL/dy0 = e^−p, dL/dp = −y0·e^−p
 * const { dLdy0, dLdp } = adjointSensitivity({
 *   f: (_t, y, p) => [-p[0] * y[0]],
 *   vjp: (_t, y, p, a) => ({ y: [-p[0] * a[0]], p: [-y[0] * a[0]] }),
 *   y0: [2], ts: [0, 1], params: [0.5], dLdy: [[0], [1]],
 * });
 * dLdy0[0]; // ≈ e^−0.5
 * dLdp[0];  // ≈ −2·e^−0.5
 * ```
 */
export function adjointSensitivity(args: SensitivityArgs): SensitivityResult {
  const fn = 'adjointSensitivity';
  const { f, vjp, method = 'dopri5', stepSize, rtol = 1e-8, atol = 1e-10, adjointNorm = 'seminorm', maxSteps } = args;
  if (!isAdaptiveMethod(method) && stepSize === undefined) {
    throw new InvalidArgumentError(fn, 'stepSize', stepSize, `is required with the fixed-step method '${method}' (otherwise it would take one step per output interval). Pass e.g. { stepSize: 0.01 }, or an adaptive method.`);
  }
  const adjointRtol = args.adjointRtol ?? rtol;
  const adjointAtol = args.adjointAtol ?? atol;
  const ts = Array.from(args.ts);
  const p = Float64Array.from(args.params);
  const n = args.y0.length;
  const m = p.length;
  if (typeof vjp !== 'function') throw new InvalidArgumentError(fn, 'vjp', vjp, 'must be a function (t, y, p, a) => ({ y: aᵀ∂f/∂y, p: aᵀ∂f/∂p }), got {value}.');
  if (args.dLdy == null || args.dLdy.length !== ts.length) {
    throw new InvalidArgumentError(fn, 'dLdy', args.dLdy, `must hold one array of ${n} numbers per output time (${ts.length}), got {value}.`);
  }
  const dLdy = Array.from(args.dLdy, (g, i) => {
    if (g == null || g.length !== n) throw new InvalidArgumentError(fn, `dLdy[${i}]`, g, `must have ${n} entries (one per state component), got {value}.`);
    return Float64Array.from(g);
  });
  // Stiff methods: y is read from the forward solution's dense output instead of being integrated
  // backwards with a (the backward y-equation of a stiff problem is violently unstable), so the
  // backward state is [a, a_p]; otherwise it is [y, a, a_p] as in the continuous adjoint.
  const interpolated = isStiffMethod(method);
  const forward = odeint((t, y) => f(t, y, p), args.y0, ts, { method, stepSize, rtol, atol, maxSteps, dense: interpolated });
  const ys = forward.ys as Float64Array[];
  const off = interpolated ? 0 : n;
  const tLo = Math.min(ts[0]!, ts[ts.length - 1]!);
  const tHi = Math.max(ts[0]!, ts[ts.length - 1]!);

  // The dense output at the last time asked: a difference Jacobian evaluates aug at one t for
  // every column, so this interpolates once per t instead of once per column.
  let yAtT = NaN;
  let yAt: Float64Array = new Float64Array(0);
  const yOf = (t: number): Float64Array => {
    // Clamped: stiff stages and the ∂f/∂t difference may look just past the solved interval.
    if (t !== yAtT) [yAtT, yAt] = [t, forward.evaluate(Math.min(Math.max(t, tLo), tHi)) as Float64Array];
    return yAt;
  };
  const aug = (t: number, s: Float64Array, out: Float64Array): void => {
    const y = interpolated ? yOf(t) : s.subarray(0, n);
    const a = s.subarray(off, off + n);
    const g = vjp(t, y, p, a);
    if (g.y.length !== n || g.p.length !== m) {
      throw new InvalidArgumentError(fn, 'vjp', `{ y: ${g.y.length} values, p: ${g.p.length} values }`, `must return y with ${n} and p with ${m} values, got {value}.`);
    }
    if (!interpolated) {
      const dy = f(t, y, p);
      for (let i = 0; i < n; i++) out[i] = dy[i]!;
    }
    for (let i = 0; i < n; i++) out[off + i] = -g.y[i]!;
    for (let j = 0; j < m; j++) out[off + n + j] = -g.p[j]!;
  };
  const norm = adjointNorm === 'seminorm'
    ? (e: Float64Array) => {
        let acc = 0;
        for (let i = 0; i < off + n; i++) acc += e[i]! * e[i]!;
        return Math.sqrt(acc / (off + n));
      }
    : 'rms' as const;
  const state = new Float64Array(off + n + m);
  state.set(dLdy[ts.length - 1]!, off);
  const backward: SolveStats = { nfe: 0, nAccepted: 0, nRejected: 0, nSteps: 0 };
  for (let i = ts.length - 1; i > 0; i--) {
    if (!interpolated) state.set(ys[i]!, 0);
    const sol = odeint(aug, state, [ts[i]!, ts[i - 1]!], { method, stepSize, rtol: adjointRtol, atol: adjointAtol, norm, maxSteps });
    backward.nfe += sol.stats.nfe;
    backward.nAccepted += sol.stats.nAccepted;
    backward.nRejected += sol.stats.nRejected;
    backward.nSteps += sol.stats.nSteps;
    state.set(sol.ys[1]!);
    for (let k = 0; k < n; k++) state[off + k] += dLdy[i - 1]![k]!;
  }
  return {
    ys,
    dLdy0: state.slice(off, off + n),
    dLdp: state.slice(off + n),
    stats: { forward: forward.stats, backward },
  };
}
