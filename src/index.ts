/**
 * biflow — adaptive ODE solvers and continuous and discrete normalizing flows: the Node entry
 * (package export condition `node`, and `biflow/node`). It is the browser entry (`./browser.ts`)
 * plus what needs Node: flows and training runs in folders on disk (the same `loadFlow`,
 * `saveFlow` and `train`, which here also take paths), dataset files, and `useBackend` with Dawn
 * WebGPU and tfjs-node. test/web/entries.test.ts keeps the two lists in step.
 *
 * `tf` is the tfjs namespace biflow computes with, re-exported so that your tensors and biflow's
 * come from one copy; its API is tfjs's own (https://js.tensorflow.org/api/latest/) and is not
 * repeated here.
 *
 * @module biflow
 */

export {
  odeint, odeintAdjoint, odeintAsync, adjointSensitivity, solve, solveAsync, runDeferred, Solution, spaceFor, TensorSpace, TupleSpace, SaveAt, ConstantStepSize, PIDController,
  RungeKutta, Euler, Midpoint, Heun, RK4, Bosh3, Dopri5, Tsit5, Dopri8,
  ButcherTableau, TABLEAUX, METHOD_NAMES, RK_METHOD_NAMES, STIFF_METHOD_NAMES, isStiffMethod, isAdaptiveMethod, float64Space,
  ARENSTORF, BRUSSELATOR, LOTKA_VOLTERRA, VAN_DER_POL, PROBLEMS,
  OdeSolver, ImplicitSolver, Rosenbrock, Rodas5, Rodas5P, Esdirk, Kvaerno5, RosenbrockTableau, DirkTableau, AutoSolution, methodInfo,
  ROBERTSON, HIRES, OREGO, VAN_DER_POL_STIFF, RELAXATION, STIFF_PROBLEMS, relaxationExact,
} from './ode/index.js';
export type {
  OdeintOptions, GradientSolution, GradientMode, AdjointStats, SensitivityArgs, SensitivityResult, TupleSpaceOptions, SolveArgs, SolveStats, SolveStatus, SaveAtOptions, PIDOptions, StepSizeController, MethodName, RKMethodName, StiffMethodName,
  OdeEvent, EventRecord, StateSpace, Tolerance, VectorField, NormKind, Problem, PendingRead, Read, ReadingSteps,
  StiffProblem, StepInterpolant, ImplicitMethod, RosenbrockSpec, DirkSpec, MethodSwitch, JacobianFn, ImplicitOptions, MethodInfo,
} from './ode/index.js';
export {
  BiflowError, InvalidArgumentError, SyncReadError, MaxStepsExceededError, StepSizeUnderflowError, NonFiniteError, SingularMatrixError,
} from './errors.js';
export { tf, useBackend, backendInfo, BackendUnavailableError, BACKEND_NAMES } from './backend/index.js';
export type { AdapterInfo, BackendInfo, BackendName, UseBackendOptions } from './backend/index.js';
export { ACTIVATIONS } from './nn/index.js';
export type { ActivationName } from './nn/index.js';
export { Flow, Sequential, Inverse, leafBlocks, StandardNormal, DiagNormal, AffineStandardizer, Standardize } from './flows/index.js';
export type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions, Distribution, OnePassSampler, SampleVia, EvalOptions, SampleOptions, Conditioning, ContextInput, StandardizationState } from './flows/index.js';
export { AdditiveCoupling, AffineCoupling, DiagonalScaling, ActNorm, Permutation, LULinear, SplineCoupling, MaskedAutoregressive } from './discrete/index.js';
export type { CouplingOptions, SplineOptions, AutoregressiveOptions } from './discrete/index.js';
export { MLP } from './nn/index.js';
export {
  createFlow, FLOW_TYPES, saveFlow, loadFlow, ModelFileError,
  Stack, BLOCK_KINDS, DEFAULT_BLOCKS, Generator, forwardStates, countStates, AlignmentObjective, trainGenerator,
  energyDistance, samplerReport, samplerReportAsync, compare, compareMarkdown, compareFigure, COMPARE_COLUMNS, toleranceSweep, toleranceSweepAsync, problemSweep, referenceLogProb, referenceLogProbAsync,
} from './biflow/index.js';
export type {
  FlowArtifacts, FlowIOHandler, SavedFlow,
  FlowConfig, FlowType, BlockKind, BlockSpec, BlockStats, StackOptions, GeneratorOptions, GeneratorConfig, AlignmentOptions, GeneratorTrainOptions,
  SamplerReport, SamplerReportOptions, CompareOptions, CompareRow, ComparePanel, SweepOptions, SweepRow, ToleranceResult, ProblemRow, ReferenceOptions,
} from './biflow/index.js';
export { CNF, setTrace, cnfField64, cnfForward64 } from './ffjord/index.js';
export type { CNFOptions, CNFStats, TraceEstimator } from './ffjord/index.js';
export { flowMatchingObjective, flowMatchingBatch, FlowMatching, OBJECTIVES, AssignmentSolver, squaredDistanceAssignment } from './ffjord/index.js';
export type { Objective, FlowMatchingOptions, FlowMatchingBatch } from './ffjord/index.js';
export { ODENet, LAYER_KINDS } from './nn/index.js';
export type { ODENetOptions, LayerKind, AugmentedLayout } from './nn/index.js';
export { toyData, TOY_DATASETS } from './data/toy.js';
export type { ToyDataset } from './data/toy.js';
export { fileCheckpointer, OutputPathError, OutputInUseError, CheckpointFileError } from './train/index.js';
export { train } from './biflow/train-node.js';
export type { FlowTrainOptions } from './biflow/train-flow.js';
export type {
  Trainable, TrainOptions, TrainResult, TrainCallbacks, IterationLogs, LogRecord, LockOwner, EarlyStoppingOptions, Checkpointer, CheckpointSession, OptimizerState, RunProgress, ProgressMode, FolderWriter,
} from './train/index.js';
export { loadDataset, conditionalDataset } from './data/index.js';
export type { Dataset, DatasetContext } from './data/index.js';
export { writeFolderAtomically } from './biflow/index.js';
export { DataFileError, parseCsv, parseNpy, parseNpz, encodeNpy, TABULAR_DATASETS, standardization, standardize, splitTable, loadTabular } from './data/index.js';
export type { Table, Splits, Standardization, TabularName, TabularDataset } from './data/index.js';
export { DOUBLE_WELL, MUELLER_BROWN, POTENTIALS, energyGrad, regularizeEnergy, mcmc, quadratureFreeEnergy, importanceWeights, reweightedFreeEnergy, reverseKL } from './physics/index.js';
export type { Potential, McmcOptions, McmcResult, Sampler } from './physics/index.js';
