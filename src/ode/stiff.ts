/**
 * odeint's route for the stiff methods (`rodas5`, `kvaerno5`, `auto`): float64 states, the
 * optional Jacobian, and refusals with a typed error for what they do not support yet.
 */
import { InvalidArgumentError } from '../errors.js';
import { tf } from '../backend/engine.js';
import { autoSwitchTime, solveAuto, sumStats } from './auto.js';
import { ConstantStepSize, PIDController } from './controller.js';
import { Esdirk } from './esdirk.js';
import { checkJac } from './implicit.js';
import type { OdeintOptions, GradientSolution } from './odeint.js';
import { Rosenbrock } from './rosenbrock.js';
import { SaveAt } from './saveat.js';
import { Solution, solve, spaceFor } from './solve.js';
import { stiffBacksolve } from './stiff-adjoint.js';
import { withoutOuterTape } from './gradients.js';
import type { AdjointStats } from './gradients.js';
import { solverFor } from './solver.js';
import { layoutOf, requireHostReads } from './stiff-tensor.js';
import { odeintWith } from './odeint.js';
import type { VectorField } from './space.js';
import { STIFF_METHOD_NAMES, isStiffMethod, kvaerno5, rodas5, rodas5p } from './tableaux/index.js';
import type { JacobianFn } from './implicit.js';
import type { MethodName } from './tableaux/index.js';

/** The solver of a stiff method other than auto. */
function stiffSolver(method: MethodName, jac: JacobianFn | undefined): Rosenbrock | Esdirk {
  return method === 'kvaerno5' ? new Esdirk(kvaerno5, { jac }) : new Rosenbrock(method === 'rodas5p' ? rodas5p : rodas5, { jac });
}

/** Solves with a stiff method (see {@link odeint}); `method` is stiff or `options.jac` is set. */
export function stiffOdeint<Y>(f: VectorField<Y>, y0: Y | ArrayLike<number>, times: number[], method: MethodName, options: OdeintOptions<Y>, fn: string): GradientSolution<Y> {
  if (!isStiffMethod(method)) {
    throw new InvalidArgumentError(fn, 'jac', options.jac, `is used by the stiff methods only (${STIFF_METHOD_NAMES.join(', ')}), but method is '${method}'. Drop jac or pick a stiff method.`);
  }
  const jac = checkJac(options.jac, fn);
  const tensor = y0 instanceof tf.Tensor || (Array.isArray(y0) && y0.some((t) => t instanceof tf.Tensor)) || (options.space !== undefined && options.space.name !== 'Float64Array');
  if (tensor) {
    requireHostReads();
    return tensorStiffOdeint(f, y0 as Y, times, method, options, fn);
  }
  if (options.gradient !== undefined && options.gradient !== 'direct') {
    throw new InvalidArgumentError(fn, 'gradient', options.gradient, `is for tensor states; with the float64 method '${method}' use adjointSensitivity({ method: '${method}', … }), got {value}.`);
  }
  const { rtol = 1e-7, atol = 1e-9, stepSize, dense = false, events, eventTol, maxSteps } = options;
  const saveAt = SaveAt.ts(times, { dense });
  const field = f as unknown as VectorField<Float64Array>;
  const evs = events as never;
  const pid = { ...(options as object), rtol, atol } as ConstructorParameters<typeof PIDController>[0];
  if (method === 'auto') {
    if (stepSize !== undefined) throw new InvalidArgumentError(fn, 'stepSize', stepSize, "cannot be used with method 'auto' (it switches methods by their error estimates). Use rodas5 or kvaerno5 for fixed steps.");
    const t0 = times[0]!;
    return solveAuto({ f: field, y0: y0 as ArrayLike<number>, t0, t1: times[times.length - 1]!, tolerance: pid, saveAt, events: evs, eventTol, maxSteps, stiff: { jac }, fn }) as unknown as GradientSolution<Y>;
  }
  const solver = stiffSolver(method, jac);
  const controller = stepSize !== undefined ? new ConstantStepSize({ dt: stepSize }) : new PIDController(pid);
  return solve({ f: field, y0: y0 as ArrayLike<number>, t0: times[0]!, t1: times[times.length - 1]!, solver, controller, saveAt, events: evs, eventTol, maxSteps, fn }) as unknown as GradientSolution<Y>;
}

/**
 * rodas5, kvaerno5 and auto on a tensor state (see stiff-tensor.ts): `direct` gradients through
 * the solve, `checkpoint` through replayed steps, `backsolve` (rodas5, kvaerno5) by the
 * interpolating adjoint of stiff-adjoint.ts (y from the forward dense output: integrating a
 * stiff y backwards is unstable).
 */
function tensorStiffOdeint<Y>(f: VectorField<Y>, y0: Y, times: number[], method: MethodName, options: OdeintOptions<Y>, fn: string): GradientSolution<Y> {
  const gradient = options.gradient ?? 'direct';
  if (gradient === 'backsolve' && method === 'auto') {
    throw new InvalidArgumentError(fn, 'gradient', gradient, "is not available with method 'auto' on tensor states yet, got {value}. Use method 'rodas5' or 'kvaerno5' with backsolve, or gradient 'checkpoint' or 'direct' with auto.");
  }
  if (method === 'auto') return tensorAuto(f, y0, times, options, gradient, fn);
  const make = (): Rosenbrock | Esdirk => stiffSolver(method, options.jac);
  if (gradient === 'backsolve') {
    if (options.dense || options.events || options.stepSize !== undefined) throw new InvalidArgumentError(fn, 'gradient', gradient, `does not combine with dense output, events or a fixed stepSize for the stiff method '${method}' yet, got {value}. Use gradient 'checkpoint' or 'direct' for those.`);
    make().checkSpace(spaceFor(y0), fn);
    layoutOf(y0, method, fn);
    const { rtol = 1e-7, atol = 1e-9 } = options;
    return stiffBacksolve(f, y0, times, make, { rtol: rtol as number, atol: atol as number, adjointRtol: options.adjointRtol, adjointAtol: options.adjointAtol, maxSteps: options.maxSteps, params: options.params ?? [] }, fn);
  }
  return odeintWith(f, y0, times, make(), { ...options, method }, fn);
}

/**
 * `auto` on a tensor state: the whole batch switches at once (at the stiffest row's detection).
 * `direct`: the two parts are solved as in float64 auto, on the tape. `checkpoint`: the switch
 * time is found first by an untaped tsit5 run (its evaluations are counted in `stats`), then
 * tsit5 up to it and rodas5 after it are two checkpointed solves, chained on the tape.
 */
function tensorAuto<Y>(f: VectorField<Y>, y0: Y, times: number[], options: OdeintOptions<Y>, gradient: string, fn: string): GradientSolution<Y> {
  const { rtol = 1e-7, atol = 1e-9, stepSize, dense = false, events, eventTol, maxSteps, space } = options;
  if (stepSize !== undefined) throw new InvalidArgumentError(fn, 'stepSize', stepSize, "cannot be used with method 'auto' (it switches methods by their error estimates). Use rodas5 or kvaerno5 for fixed steps.");
  // rodas5's state rules, checked before any work rather than at the switch.
  layoutOf(y0, 'auto', fn);
  if (options.jac !== undefined) throw new InvalidArgumentError(fn, 'jac', 'a function', "is for float64 states (it fills a Float64Array); on a tf.Tensor state auto's rodas5 part takes J from vector–Jacobian products. Drop jac.");
  const tolerance = { ...(options as object), rtol, atol } as ConstructorParameters<typeof PIDController>[0];
  const t0 = times[0]!;
  const t1 = times[times.length - 1]!;
  if (gradient !== 'checkpoint') {
    return solveAuto({ f, y0, t0, t1, tolerance, saveAt: SaveAt.ts(times, { dense }), events, eventTol, maxSteps, space, fn }) as GradientSolution<Y>;
  }
  if (times.length < 2) throw new InvalidArgumentError(fn, 'ts', times, 'needs at least two times for a gradient solve, got {value}.');
  const probe = withoutOuterTape(() => autoSwitchTime({ f, y0, t0, t1, tolerance, maxSteps, space, fn }));
  const tsit5Only = { ...options, method: 'tsit5' as const };
  if (probe.tSwitch === null) {
    const sol = odeintWith(f, y0, times, solverFor('tsit5', fn), tsit5Only, fn);
    sol.methodSwitches = [];
    return sol;
  }
  const tS = probe.tSwitch;
  const dir = t1 >= t0 ? 1 : -1;
  const before = times.filter((t) => (t - tS) * dir < 0);
  const after = times.filter((t) => (t - tS) * dir > 0);
  const hit = times.includes(tS);
  const first = odeintWith(f, y0, [...before, tS], solverFor('tsit5', fn), tsit5Only, fn);
  const yS = first.ys[before.length]!;
  let second: GradientSolution<Y>;
  try {
    second = odeintWith(f, yS, [tS, ...after], new Rosenbrock(rodas5), { ...options, method: 'rodas5' }, fn);
  } catch (e) {
    first.dispose();
    throw e;
  }
  // The switch state and its copy at the start of the rodas5 part are outputs only when requested.
  if (!hit) (yS as unknown as tf.Tensor).dispose?.();
  (second.ys[0] as unknown as tf.Tensor).dispose?.();
  const ys = [...first.ys.slice(0, hit ? before.length + 1 : before.length), ...second.ys.slice(1)];
  const stats = sumStats(sumStats(probe.stats, first.stats), second.stats);
  const out = new Solution<Y>(times.slice(), ys, stats, [], null, t0, t1, null) as GradientSolution<Y>;
  const [a, b] = [first.adjointStats!, second.adjointStats!];
  // The backward passes fill both parts' statistics later: read them when asked.
  const sum = (k: 'nfe' | 'nAccepted' | 'nRejected' | 'nSteps'): PropertyDescriptor => ({ enumerable: true, get: () => a[k] + b[k] });
  out.adjointStats = Object.defineProperties({} as AdjointStats, {
    nfe: sum('nfe'), nAccepted: sum('nAccepted'), nRejected: sum('nRejected'), nSteps: sum('nSteps'), passes: { enumerable: true, get: () => b.passes },
  });
  out.methodSwitches = [{ t: tS, from: 'tsit5', to: 'rodas5' }];
  return out;
}
