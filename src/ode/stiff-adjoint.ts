/**
 * `gradient: 'backsolve'` for the stiff methods on tensor states: the interpolating adjoint, as
 * {@link adjointSensitivity} does on float64 states. y is not integrated backwards (its fast
 * decaying modes would grow); it is read from the forward solve's dense output. Between output
 * times the adjoint a′ = −J(t)ᵀa (J = ∂f/∂y at y(t), each row of a [B, D] batch its own system) is
 * solved backwards with the same stiff method; its field is one vector–Jacobian product of f, and
 * the stiff method's Jacobian of that field, −J(t)ᵀ, comes from D vector–Jacobian products of it
 * (second derivatives of f: f must be twice differentiable on the tape, e.g. `ACTIVATIONS`).
 * The parameter gradient ∫ aᵀ∂f/∂θ dt is a quadrature, not part of the stiff state (it couples
 * the rows): 5-point Gauss–Legendre on every accepted step of the adjoint solve, with a from its
 * dense output.
 */
import { tf } from '../backend/engine.js';
import { isRecording } from '../backend/tape.js';
import { InvalidArgumentError } from '../errors.js';
import { PIDController } from './controller.js';
import { backwardStep, checkingParamsOnce, gradsOf, withoutOuterTape } from './gradients.js';
import type { AdjointStats } from './gradients.js';
import type { GradientSolution } from './odeint.js';
import { SaveAt } from './saveat.js';
import { Solution, solve } from './solve.js';
import type { SolveStats } from './solve.js';
import type { OdeSolver } from './solver-base.js';
import type { VectorField } from './space.js';

type Tensor = tf.Tensor;

/** Gauss–Legendre nodes on [−1, 1] and weights, 5 points (exact for degree 9). */
const GL_X = [0, -0.5384693101056831, 0.5384693101056831, -0.906179845938664, 0.906179845938664];
const GL_W = [0.5688888888888889, 0.4786286704993665, 0.4786286704993665, 0.23692688538483686, 0.23692688538483686];

/** Options of {@link stiffBacksolve}: tolerances of both solves, the parameters and the step limit. */
export interface StiffBacksolveOptions {
  rtol: number;
  atol: number;
  adjointRtol?: number;
  adjointAtol?: number;
  maxSteps?: number;
  params: readonly Tensor[];
}

/** Solves with `makeSolver()` (a stiff method) and differentiates by the interpolating adjoint (see the module comment). */
export function stiffBacksolve<Y>(f0: VectorField<Y>, y0in: Y, ts: number[], makeSolver: () => OdeSolver, options: StiffBacksolveOptions, fn: string): GradientSolution<Y> {
  const { params, rtol, atol, maxSteps } = options;
  if (!Array.isArray(params) || params.some((p) => !(p instanceof tf.Tensor))) {
    throw new InvalidArgumentError(fn, 'params', params, "must be an array of tf.Tensor/tf.Variable (the parameters f uses) for gradient 'backsolve', got {value}. Pass e.g. { params: [W, b] }.");
  }
  if (ts.length < 2) throw new InvalidArgumentError(fn, 'ts', ts, 'needs at least two times for a gradient solve, got {value}.');
  const tuple = Array.isArray(y0in);
  const y0 = (tuple ? (y0in as unknown as Tensor[])[0] : y0in) as Tensor;
  const f = (tuple ? (t: number, y: Tensor) => (f0(t, [y] as unknown as Y, [y] as unknown as Y) as unknown as Tensor[])[0]! : f0) as (t: number, y: Tensor, out: Tensor) => Tensor;
  const nT = ts.length;
  const rtolB = options.adjointRtol ?? rtol;
  const atolB = options.adjointAtol ?? atol;
  const adjointStats: AdjointStats = { nfe: 0, nAccepted: 0, nRejected: 0, nSteps: 0, passes: 0 };
  const add = (s: SolveStats): void => {
    adjointStats.nfe += s.nfe;
    adjointStats.nAccepted += s.nAccepted;
    adjointStats.nRejected += s.nRejected;
    adjointStats.nSteps += s.nSteps;
  };
  // Only a solve that a gradient may follow keeps its dense output (freed by the backward pass).
  const taped = isRecording();
  const fForward = taped ? checkingParamsOnce(f as never, params, 'backsolve', fn) as unknown as VectorField<Tensor> : f;
  let forward: Solution<Tensor> | null = null;
  const op = tf.customGrad((...inputs: unknown[]) => {
    inputs.pop(); // save: the dense output is held here, not on the tape
    const start = inputs[0] as Tensor;
    const sol = withoutOuterTape(() => solve({
      f: fForward, y0: start, t0: ts[0]!, t1: ts[nT - 1]!, solver: makeSolver(), controller: new PIDController({ rtol, atol }),
      saveAt: SaveAt.ts(ts, { dense: taped }), maxSteps, fn,
    }));
    forward = sol;
    // customGrad's forward runs in a scope that frees what it does not return: keep the dense output.
    sol.dense?.values().forEach((v) => tf.keep(v));
    return {
      value: tf.stack(sol.ys),
      // backwardStep: a pass that throws also releases the tape it abandons; the tidy frees every
      // intermediate of the adjoint, also on errors.
      gradFunc: (dy: Tensor) => backwardStep(() => {
        adjointStats.passes++;
        try {
          return tf.tidy(() => adjointPass(f, sol, ts, dy, params, makeSolver, rtolB, atolB, maxSteps, fn, add));
        } finally {
          tf.dispose(sol.dense?.values() ?? []);
        }
      }),
    };
  });
  const stacked = op(y0, ...params) as Tensor;
  const fwd = forward as Solution<Tensor> | null;
  tf.dispose(fwd?.ys ?? []);
  if (!taped) tf.dispose(fwd?.dense?.values() ?? []);
  const ys = tf.unstack(stacked);
  stacked.dispose();
  const out = new Solution<Y>(ts.slice(), (tuple ? ys.map((y) => [y]) : ys) as Y[], fwd!.stats, [], null, ts[0]!, ts[nT - 1]!, null) as GradientSolution<Y>;
  out.adjointStats = adjointStats;
  return out;
}

/** The backward pass: [∂L/∂y0, ∂L/∂θ…] from the cotangent of the stacked outputs. */
function adjointPass(
  f: (t: number, y: Tensor, out: Tensor) => Tensor, forward: Solution<Tensor>, ts: number[], dy: Tensor, params: readonly Tensor[],
  makeSolver: () => OdeSolver, rtol: number, atol: number, maxSteps: number | undefined, fn: string, add: (s: SolveStats) => void,
): Tensor[] {
  const nT = ts.length;
  const dense = forward.dense!;
  const [lo, hi] = [Math.min(ts[0]!, ts[nT - 1]!), Math.max(ts[0]!, ts[nT - 1]!)];
  // y(t) from the forward dense output, once per t (a Jacobian evaluates the field D times at one t);
  // clamped: stiff stages and ∂f/∂t differences look just past the solved interval.
  let cached: { t: number; y: Tensor } | null = null;
  const yOf = (t: number): Tensor => {
    if (cached === null || cached.t !== t || cached.y.isDisposed) cached = { t, y: dense.evaluate(Math.min(Math.max(t, lo), hi)) };
    return cached.y;
  };
  // a′ = −J(t)ᵀa: the cotangent a pulled through f at y(t).
  const adjointField: VectorField<Tensor> = (t, a) => {
    const y = yOf(t);
    const [g] = gradsOf(() => tf.sum(tf.mul(f(t, y, y), a)), [y]);
    const r = tf.neg(g!);
    g!.dispose();
    return r;
  };
  const dys = tf.unstack(dy);
  let a = dys[nT - 1]!;
  let gTheta = params.map((p) => tf.zerosLike(p));
  for (let i = nT - 1; i > 0; i--) {
    const sol = solve({
      f: adjointField, y0: a, t0: ts[i]!, t1: ts[i - 1]!, solver: makeSolver(), controller: new PIDController({ rtol, atol }),
      saveAt: SaveAt.steps({ dense: true }), maxSteps, fn: `${fn} (stiff backsolve)`,
    });
    add(sol.stats);
    // ∂L/∂θ += ∫_{t_{i−1}}^{t_i} aᵀ∂f/∂θ dt, node by node on each step of the adjoint solve.
    for (let k = 0; k + 1 < sol.ts.length; k++) {
      const [sA, sB] = [sol.ts[k]!, sol.ts[k + 1]!];
      const half = (sB - sA) / 2;
      GL_X.forEach((x, q) => {
        const t = sA + half * (1 + x);
        const aq = sol.evaluate(t);
        const y = yOf(t);
        const g = params.length > 0 ? gradsOf(() => tf.sum(tf.mul(f(t, y, y), aq)), params) : [];
        add({ nfe: 1, nAccepted: 0, nRejected: 0, nSteps: 0 });
        const next = gTheta.map((s, j) => tf.sub(s, tf.mul(g[j]!, half * GL_W[q]!)));
        tf.dispose([aq, ...g, ...gTheta]);
        gTheta = next;
      });
    }
    const aEnd = sol.ys[sol.ys.length - 1]!;
    const aNext = tf.add(aEnd, dys[i - 1]!);
    sol.dispose();
    a.dispose();
    a = aNext;
  }
  dys.slice(0, nT - 1).forEach((d) => d.isDisposed || d.dispose());
  if (cached !== null && !(cached as { y: Tensor }).y.isDisposed) (cached as { y: Tensor }).y.dispose();
  return [a, ...gTheta];
}
