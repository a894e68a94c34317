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
import { solve, type Solution } from './solve.js';
import { solverFor } from './solver.js';
import type { StateSpace, VectorField } from './space.js';
import type { MethodName } from './tableaux/index.js';

export interface OdeintOptions<Y> extends Omit<Partial<PIDOptions>, 'rtol' | 'atol'> {
  /** Default `dopri5`. */
  method?: MethodName;
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
}

/**
 * Solves dy/dt = f(t, y), y(ts[0]) = y0 and returns the state at every time in `ts`
 * (strictly increasing, or strictly decreasing to integrate backwards).
 * Adaptive methods use a {@link PIDController}; fixed-step ones a {@link ConstantStepSize}.
 */
export function odeint<Y = Float64Array>(
  f: VectorField<Y>,
  y0: NoInfer<Y> | ArrayLike<number>,
  ts: ArrayLike<number>,
  options: OdeintOptions<Y> = {},
): Solution<Y> {
  const fn = 'odeint';
  const { method = 'dopri5', rtol = 1e-7, atol = 1e-9, stepSize, dense = false, events, eventTol, maxSteps, space } = options;
  if (ts == null || typeof ts.length !== 'number' || ts.length < 1) {
    throw new InvalidArgumentError(fn, 'ts', ts, 'must be an array of at least one time, got {value}. Pass e.g. [0, 1].');
  }
  const times = Array.from(ts);
  const solver = solverFor(method, fn);
  if (stepSize !== undefined && !(typeof stepSize === 'number' && Number.isFinite(stepSize) && stepSize > 0)) {
    throw new InvalidArgumentError(fn, 'stepSize', stepSize, 'must be a positive finite number, got {value}. Pass e.g. { stepSize: 0.01 }.');
  }
  const controller =
    stepSize !== undefined
      ? new ConstantStepSize({ dt: stepSize })
      : solver.adaptive
        ? new PIDController({ ...options, rtol, atol })
        : new ConstantStepSize({ grid: times });
  return solve({
    f, y0, t0: times[0]!, t1: times[times.length - 1]!, solver, controller,
    saveAt: SaveAt.ts(times, { dense }), events, eventTol, maxSteps, space, fn,
  });
}
