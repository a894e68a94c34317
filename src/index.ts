/**
 * biflow — adaptive ODE solvers and (from later layers) continuous and discrete normalizing flows.
 */

export {
  odeint, solve, Solution, SaveAt, ConstantStepSize, PIDController,
  RungeKutta, Euler, Midpoint, Heun, RK4, Bosh3, Dopri5, Tsit5, Dopri8,
  ButcherTableau, TABLEAUX, METHOD_NAMES, float64Space,
  ARENSTORF, BRUSSELATOR, LOTKA_VOLTERRA, VAN_DER_POL, PROBLEMS,
} from './ode/index.js';
export type {
  OdeintOptions, SolveArgs, SolveStats, SaveAtOptions, PIDOptions, StepSizeController, MethodName,
  OdeEvent, EventRecord, StateSpace, Tolerance, VectorField, NormKind, Problem,
} from './ode/index.js';
export {
  BiflowError, InvalidArgumentError, MaxStepsExceededError, StepSizeUnderflowError, NonFiniteError,
} from './errors.js';
