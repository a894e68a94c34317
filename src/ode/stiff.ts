/**
 * odeint's route for the stiff methods (`rodas5`, `kvaerno5`, `auto`): float64 states, the
 * optional Jacobian, and refusals with a typed error for what they do not support yet.
 */
import { InvalidArgumentError } from '../errors.js';
import { tf } from '../backend/engine.js';
import { solveAuto } from './auto.js';
import { ConstantStepSize, PIDController } from './controller.js';
import { Esdirk } from './esdirk.js';
import { checkJac } from './implicit.js';
import type { OdeintOptions, GradientSolution } from './odeint.js';
import { Rosenbrock } from './rosenbrock.js';
import { SaveAt } from './saveat.js';
import { solve } from './solve.js';
import { odeintWith } from './odeint.js';
import type { VectorField } from './space.js';
import { isStiffMethod, kvaerno5, rodas5 } from './tableaux/index.js';
import type { MethodName } from './tableaux/index.js';

/** Solves with a stiff method (see {@link odeint}); `method` is stiff or `options.jac` is set. */
export function stiffOdeint<Y>(f: VectorField<Y>, y0: Y | ArrayLike<number>, times: number[], method: MethodName, options: OdeintOptions<Y>, fn: string): GradientSolution<Y> {
  if (!isStiffMethod(method)) {
    throw new InvalidArgumentError(fn, 'jac', options.jac, `is used by the stiff methods only (rodas5, kvaerno5, auto), but method is '${method}'. Drop jac or pick a stiff method.`);
  }
  const jac = checkJac(options.jac, fn);
  const tensor = y0 instanceof tf.Tensor || (Array.isArray(y0) && y0.some((t) => t instanceof tf.Tensor)) || (options.space !== undefined && options.space.name !== 'Float64Array');
  if (tensor) return tensorStiffOdeint(f, y0 as Y, times, method, options, fn);
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
  const solver = method === 'rodas5' ? new Rosenbrock(rodas5, { jac }) : new Esdirk(kvaerno5, { jac });
  const controller = stepSize !== undefined ? new ConstantStepSize({ dt: stepSize }) : new PIDController(pid);
  return solve({ f: field, y0: y0 as ArrayLike<number>, t0: times[0]!, t1: times[times.length - 1]!, solver, controller, saveAt, events: evs, eventTol, maxSteps, fn }) as unknown as GradientSolution<Y>;
}

/**
 * rodas5 and kvaerno5 on a tensor state (see stiff-tensor.ts): `direct` gradients through the
 * solve, `checkpoint` through replayed steps. Not yet: `auto` (its stiffness switch is float64),
 * and `backsolve`: it integrates y backwards, which a stiff problem makes unstable; a stiff adjoint
 * needs y from the forward dense output (as adjointSensitivity does on float64 states).
 */
function tensorStiffOdeint<Y>(f: VectorField<Y>, y0: Y, times: number[], method: MethodName, options: OdeintOptions<Y>, fn: string): GradientSolution<Y> {
  if (method === 'auto') {
    throw new InvalidArgumentError(fn, 'method', method, "{value} switches methods on float64 states only; on tensor states pick 'rodas5' or 'kvaerno5' (both stiff), or an explicit method.");
  }
  const gradient = options.gradient ?? 'direct';
  if (gradient === 'backsolve') {
    throw new InvalidArgumentError(fn, 'gradient', gradient, `is not available with the stiff method '${method}' on tensor states yet, got {value}: backsolve integrates y backwards, where a stiff problem's fast decaying modes grow. Use gradient 'checkpoint' (O(steps) state memory, exact discrete gradient) or 'direct'.`);
  }
  return odeintWith(f, y0, times, method === 'rodas5' ? new Rosenbrock(rodas5, { jac: options.jac }) : new Esdirk(kvaerno5, { jac: options.jac }), { ...options, method }, fn);
}
