/**
 * biflow — adaptive ODE solvers and (from later layers) continuous and discrete normalizing flows.
 */

export {
  odeint, odeintAdjoint, adjointSensitivity, solve, Solution, spaceFor, TensorSpace, TupleSpace, SaveAt, ConstantStepSize, PIDController,
  RungeKutta, Euler, Midpoint, Heun, RK4, Bosh3, Dopri5, Tsit5, Dopri8,
  ButcherTableau, TABLEAUX, METHOD_NAMES, float64Space,
  ARENSTORF, BRUSSELATOR, LOTKA_VOLTERRA, VAN_DER_POL, PROBLEMS,
} from './ode/index.js';
export type {
  OdeintOptions, GradientSolution, GradientMode, AdjointStats, SensitivityArgs, SensitivityResult, TupleSpaceOptions, SolveArgs, SolveStats, SaveAtOptions, PIDOptions, StepSizeController, MethodName,
  OdeEvent, EventRecord, StateSpace, Tolerance, VectorField, NormKind, Problem,
} from './ode/index.js';
export {
  BiflowError, InvalidArgumentError, MaxStepsExceededError, StepSizeUnderflowError, NonFiniteError,
} from './errors.js';
export { tf, useBackend, backendInfo, BackendUnavailableError, BACKEND_NAMES } from './backend/index.js';
export type { AdapterInfo, BackendInfo, BackendName } from './backend/index.js';
export { ACTIVATIONS } from './nn/index.js';
export type { ActivationName } from './nn/index.js';
export { Flow, Sequential, Inverse, StandardNormal, DiagNormal } from './flows/index.js';
export type { Bijector, BijectorConfig, BijectorResult, InverseResult, Distribution } from './flows/index.js';
export { AdditiveCoupling, AffineCoupling, DiagonalScaling, ActNorm, Permutation, LULinear, SplineCoupling } from './discrete/index.js';
export type { CouplingOptions, SplineOptions } from './discrete/index.js';
export { MLP } from './nn/index.js';
export { createFlow, FLOW_TYPES, saveFlow, loadFlow, ModelFileError } from './biflow/index.js';
export type { FlowConfig, FlowType } from './biflow/index.js';
export { CNF, setTrace } from './ffjord/index.js';
export type { CNFOptions, CNFStats, TraceEstimator } from './ffjord/index.js';
export { ODENet, LAYER_KINDS } from './nn/index.js';
export type { ODENetOptions, LayerKind } from './nn/index.js';
export { DataFileError, parseCsv, parseNpy, parseNpz, encodeNpy, TABULAR_DATASETS, standardization, standardize, splitTable, loadTabular } from './data/index.js';
export type { Table, Splits, Standardization, TabularName, TabularDataset } from './data/index.js';
export { DOUBLE_WELL, MUELLER_BROWN, POTENTIALS, energyGrad, regularizeEnergy, mcmc, quadratureFreeEnergy, importanceWeights, reweightedFreeEnergy, reverseKL } from './physics/index.js';
export type { Potential, McmcOptions, McmcResult, Sampler } from './physics/index.js';
