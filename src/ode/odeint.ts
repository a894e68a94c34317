/**
 * `odeint`: torchdiffeq's interface — the state at each requested time — over {@link solve}.
 *
 * @example
 * const sol = odeint((t, y) => [y[1], -y[0]], Float64Array.of(1, 0), [0, 1, 2],
 *                    { method: 'dopri5', rtol: 1e-8, atol: 1e-10 });
 * sol.ys[2]; // ≈ [cos 2, −sin 2]
 */
import { InvalidArgumentError } from '../errors.js';
import { ConstantStepSize, PIDController } from './controller.js';
import type { PIDOptions } from './controller.js';
import type { OdeEvent } from './events.js';
import { SaveAt } from './saveat.js';
import { checkSyncReads, solve, solveAsync, Solution } from './solve.js';
import type { SolveArgs } from './solve.js';
import { runDeferred } from '../backend/reads.js';
import { solveWithGradient } from './gradients.js';
import type { AdjointStats, GradientMode } from './gradients.js';
import { tf } from '../backend/engine.js';
import { solverFor } from './solver.js';
import type { OdeSolver } from './solver-base.js';
import type { StateSpace, VectorField } from './space.js';
import { METHOD_NAMES, isStiffMethod } from './tableaux/index.js';
import type { MethodName } from './tableaux/index.js';
import { stiffOdeint } from './stiff.js';
import type { JacobianFn } from './implicit.js';
import type { MethodSwitch } from './auto.js';

/** Options of {@link odeint}: the method, tolerances or a fixed step, step limits, and the gradient mode for tensor states. */
export interface OdeintOptions<Y> extends Omit<Partial<PIDOptions>, 'rtol' | 'atol'> {
  /** Default `dopri5`. The stiff `rodas5`, `kvaerno5` and `auto` take float64 and tensor states. */
  method?: MethodName;
  /** Stiff methods on float64 states: ∂f/∂y filled into its third argument (row-major n×n); default finite differences (tensor states: vector–Jacobian products). */
  jac?: JacobianFn;
  /** Defaults 1e-7 and 1e-9, as torchdiffeq. Scalar or one per component. */
  rtol?: number | ArrayLike<number>;
  atol?: number | ArrayLike<number>;
  /** Fixed-step methods: the step. Without it they step between the requested times. */
  stepSize?: number;
  /** Also keep the dense interpolant (`sol.evaluate(t)`). */
  dense?: boolean;
  events?: readonly OdeEvent<Y>[];
  eventTol?: number;
  maxSteps?: number;
  space?: StateSpace<Y>;
  /**
   * Tensor states: how gradients reach y0 and `params` — 'direct' (default: the tfjs tape),
   * 'backsolve' (continuous adjoint) or 'checkpoint' (replayed steps).
   */
  gradient?: GradientMode;
  /** The tensors/variables f uses whose gradients are wanted (backsolve, checkpoint). */
  params?: readonly tf.Tensor[];
  adjointRtol?: number;
  adjointAtol?: number;
  adjointNorm?: 'rms' | 'seminorm';
}

/** A solution whose backward pass reports its own statistics (backsolve, checkpoint), or that reports its method switches (auto). */
export interface GradientSolution<Y> extends Solution<Y> {
  adjointStats?: AdjointStats;
  /** With `method: 'auto'`: where the solve changed method (empty when it never did). */
  methodSwitches?: MethodSwitch[];
}

/**
 * Solves dy/dt = f(t, y), y(ts[0]) = y0 and returns the state at every time in `ts`
 * (strictly increasing, or strictly decreasing to integrate backwards).
 * Adaptive methods use a {@link PIDController}; fixed-step ones a {@link ConstantStepSize}.
 *
 * @example
 * ```ts
 * import { odeint } from 'biflow';
 *
 * // y'' = −y as a first-order system, float64 states
 * const sol = odeint((_t, y) => [y[1], -y[0]], Float64Array.of(1, 0), [0, 1, 2], { rtol: 1e-8, atol: 1e-10 });
 * sol.ys[2]; // Float64Array [cos 2, −sin 2]
 * sol.stats.nfe;
 * ```
 */
export function odeint(
  f: VectorField<tf.Tensor>,
  y0: tf.Tensor,
  ts: ArrayLike<number>,
  options?: OdeintOptions<tf.Tensor>,
): GradientSolution<tf.Tensor>;
export function odeint(
  f: VectorField<tf.Tensor[]>,
  y0: tf.Tensor[],
  ts: ArrayLike<number>,
  options?: OdeintOptions<tf.Tensor[]>,
): GradientSolution<tf.Tensor[]>;
export function odeint(
  f: VectorField<Float64Array>,
  y0: ArrayLike<number>,
  ts: ArrayLike<number>,
  options?: OdeintOptions<Float64Array>,
): GradientSolution<Float64Array>;
export function odeint<Y>(f: VectorField<Y>, y0: Y, ts: ArrayLike<number>, options: OdeintOptions<Y> & { space: StateSpace<Y> }): GradientSolution<Y>;
export function odeint<Y>(
  f: VectorField<Y>,
  y0: Y | ArrayLike<number>,
  ts: ArrayLike<number>,
  options: OdeintOptions<Y> = {},
): GradientSolution<Y> {
  return odeintAs('odeint', f, y0, ts, options);
}

/**
 * {@link odeint} on any backend, WebGPU included: the same loop and step for step the same
 * results, awaiting the one device read per adaptive step. The gradient modes run their forward
 * solve here too; their backward passes run asynchronously when the gradient is taken inside
 * {@link runDeferred} (as the trainer does). One asynchronous solve at a time per engine.
 *
 * @example
 * ```ts
 * import { tf, odeintAsync } from 'biflow';
 *
 * const sol = await odeintAsync((_t: number, y: tf.Tensor) => tf.neg(y), tf.ones([8, 2]), [0, 1], { rtol: 1e-6, atol: 1e-8 });
 * sol.ys[1]; // ≈ e^−1
 * sol.stats.nAccepted;
 * sol.dispose();
 * ```
 */
export function odeintAsync(f: VectorField<tf.Tensor>, y0: tf.Tensor, ts: ArrayLike<number>, options?: OdeintOptions<tf.Tensor>): Promise<GradientSolution<tf.Tensor>>;
export function odeintAsync(f: VectorField<tf.Tensor[]>, y0: tf.Tensor[], ts: ArrayLike<number>, options?: OdeintOptions<tf.Tensor[]>): Promise<GradientSolution<tf.Tensor[]>>;
export function odeintAsync(f: VectorField<Float64Array>, y0: ArrayLike<number>, ts: ArrayLike<number>, options?: OdeintOptions<Float64Array>): Promise<GradientSolution<Float64Array>>;
export async function odeintAsync<Y>(f: VectorField<Y>, y0: Y | ArrayLike<number>, ts: ArrayLike<number>, options: OdeintOptions<Y> = {}): Promise<GradientSolution<Y>> {
  const fn = 'odeintAsync';
  if ((options.gradient ?? 'direct') !== 'direct') return runDeferred(() => odeintAs(fn, f, y0, ts, options));
  const plan = odeintPlan(fn, f, y0, ts, options);
  return 'args' in plan ? solveAsync(plan.args) : plan.solution;
}

/** odeint's work, with errors naming `fn` (the public function the user called). */
function odeintAs<Y>(fn: string, f: VectorField<Y>, y0: Y | ArrayLike<number>, ts: ArrayLike<number>, options: OdeintOptions<Y>): GradientSolution<Y> {
  const plan = odeintPlan(fn, f, y0, ts, options);
  return 'args' in plan ? solve(plan.args) : plan.solution;
}

/** What odeint decides before its loop: the solution itself (from another driver) or a solve's arguments. */
type OdeintPlan<Y> = { solution: GradientSolution<Y> } | { args: SolveArgs<Y> };

/**
 * Everything odeint decides before its loop, with errors naming `fn`: the solution itself where
 * another driver computes it (stiff methods, gradient modes), else the arguments of the solve.
 */
function odeintPlan<Y>(fn: string, f: VectorField<Y>, y0: Y | ArrayLike<number>, ts: ArrayLike<number>, options: OdeintOptions<Y>): OdeintPlan<Y> {
  const { method = 'dopri5' } = options;
  if (ts == null || typeof ts.length !== 'number' || ts.length < 1) {
    throw new InvalidArgumentError(fn, 'ts', ts, 'must be an array of at least one time, got {value}. Pass e.g. [0, 1].');
  }
  const times = Array.from(ts);
  if (!(METHOD_NAMES as string[]).includes(method)) {
    throw new InvalidArgumentError(fn, 'method', method, `is not a known method, got {value}. Use one of: ${METHOD_NAMES.join(', ')}.`);
  }
  if (isStiffMethod(method) || options.jac !== undefined) return { solution: stiffOdeint(f, y0, times, method, options, fn) };
  return planWith(f, y0, times, solverFor(method, fn), options, fn);
}

/** odeint with its solver chosen (explicit, or a stiff one on a tensor state). */
export function odeintWith<Y>(f: VectorField<Y>, y0: Y | ArrayLike<number>, times: number[], solver: OdeSolver, options: OdeintOptions<Y>, fn: string): GradientSolution<Y> {
  const plan = planWith(f, y0, times, solver, options, fn);
  return 'args' in plan ? solve(plan.args) : plan.solution;
}

/** odeintPlan once the solver is chosen. */
function planWith<Y>(f: VectorField<Y>, y0: Y | ArrayLike<number>, times: number[], solver: OdeSolver, options: OdeintOptions<Y>, fn: string): OdeintPlan<Y> {
  const { rtol = 1e-7, atol = 1e-9, stepSize, dense = false, events, eventTol, maxSteps, space } = options;
  if (stepSize !== undefined && !(typeof stepSize === 'number' && Number.isFinite(stepSize) && stepSize > 0)) {
    throw new InvalidArgumentError(fn, 'stepSize', stepSize, 'must be a positive finite number, got {value}. Pass e.g. { stepSize: 0.01 }.');
  }
  const controller =
    stepSize !== undefined
      ? new ConstantStepSize({ dt: stepSize })
      : solver.adaptive
        ? new PIDController({ ...options, rtol, atol })
        : new ConstantStepSize({ grid: times });
  const gradient = options.gradient ?? 'direct';
  // A sync call that would have to read the device refuses before any work, naming its async form.
  if (fn !== 'odeintAsync') checkSyncReads(fn, controller.tolerance !== null, y0);
  if (gradient !== 'direct') {
    if (gradient !== 'backsolve' && gradient !== 'checkpoint') {
      throw new InvalidArgumentError(fn, 'gradient', gradient, "must be 'direct', 'backsolve' or 'checkpoint', got {value}.");
    }
    const single = y0 instanceof tf.Tensor;
    if (!single && !(Array.isArray(y0) && y0.length > 0 && y0.every((t) => t instanceof tf.Tensor))) {
      throw new InvalidArgumentError(fn, 'gradient', gradient, 'needs a tensor state (a tf.Tensor or an array of them); float64 states use adjointSensitivity. Got {value}.');
    }
    if (dense || events) throw new InvalidArgumentError(fn, 'gradient', gradient, 'does not combine with dense output or events yet, got {value}. Use the default direct gradient for those.');
    const tuple = (single ? [y0] : y0) as tf.Tensor[];
    const field = (single ? (t: number, y: tf.Tensor[]) => [f(t, y[0] as Y, y[0] as Y) as tf.Tensor] : f) as VectorField<tf.Tensor[]>;
    if (times.length < 2) throw new InvalidArgumentError(fn, 'ts', times, 'needs at least two times for a gradient solve, got {value}.');
    const { sol, adjointStats } = solveWithGradient(
      { f: field, y0: tuple, ts: times, solver, controller, maxSteps, fn },
      { gradient, params: options.params as tf.Tensor[], adjointRtol: options.adjointRtol, adjointAtol: options.adjointAtol, adjointNorm: options.adjointNorm },
    );
    const ys = (single ? sol.ys.map((y) => y[0]!) : sol.ys) as Y[];
    const out = new Solution<Y>(sol.ts, ys, sol.stats, [], null, sol.t0, sol.t1, null) as GradientSolution<Y>;
    out.adjointStats = adjointStats;
    return { solution: out };
  }
  return {
    args: {
      f, y0, t0: times[0]!, t1: times[times.length - 1]!, solver, controller,
      saveAt: SaveAt.ts(times, { dense }), events, eventTol, maxSteps, space, fn,
    },
  };
}

/**
 * `odeint` with the continuous adjoint: torchdiffeq's odeint_adjoint.
 *
 * @example
 * ```ts
 * import { tf, odeintAdjoint } from 'biflow';
 *
 * const W = tf.variable(tf.randomNormal([2, 2]));
 * const f = (_t: number, y: tf.Tensor) => tf.tanh(tf.matMul(y, W));
 * const { grads } = tf.variableGrads(() => {
 *   const sol = odeintAdjoint(f, tf.randomNormal([16, 2]), [0, 1], { rtol: 1e-5, atol: 1e-5, params: [W] });
 *   return tf.sum(tf.square(sol.ys[1])) as tf.Scalar;
 * });
 * grads[W.name]; // ∂loss/∂W by the continuous adjoint
 * ```
 */
export function odeintAdjoint(
  f: VectorField<tf.Tensor>,
  y0: tf.Tensor,
  ts: ArrayLike<number>,
  options?: Omit<OdeintOptions<tf.Tensor>, 'gradient'>,
): GradientSolution<tf.Tensor>;
export function odeintAdjoint(
  f: VectorField<tf.Tensor[]>,
  y0: tf.Tensor[],
  ts: ArrayLike<number>,
  options?: Omit<OdeintOptions<tf.Tensor[]>, 'gradient'>,
): GradientSolution<tf.Tensor[]>;
export function odeintAdjoint<Y>(
  f: VectorField<Y>,
  y0: Y,
  ts: ArrayLike<number>,
  options: Omit<OdeintOptions<Y>, 'gradient'> = {},
): GradientSolution<Y> {
  return odeintAs('odeintAdjoint', f, y0, ts, { ...options, gradient: 'backsolve', params: options.params ?? [] });
}
