/**
 * biflow in a browser (the package's `browser`/`default` export condition): everything the Node
 * entry has but files on disk, with a `useBackend` that picks WebGPU → WebGL → wasm → cpu. `train`
 * is the same loop without a file system (checkpoints only through a Checkpointer); `loadFlow`
 * reads URLs (https://, relative to the page, indexeddb://) and `saveFlow` writes indexeddb:// and
 * downloads://. It imports nothing Node-only, so a bundler needs no shims;
 * test/web/bundle.test.ts bundles it with vite and fails on any Node built-in. `tf` is tfjs's
 * namespace (https://js.tensorflow.org/api/latest/), as in the Node entry.
 *
 * @module biflow/browser
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
export { tf } from './backend/engine.js';
export { useBackend, backendInfo, BackendUnavailableError, BACKEND_NAMES } from './backend/browser.js';
export type { AdapterInfo, BackendInfo, BackendName, UseBackendOptions } from './backend/browser.js';
export { ACTIVATIONS } from './nn/index.js';
export type { ActivationName } from './nn/index.js';
export { Flow, Sequential, Inverse, leafBlocks, StandardNormal, DiagNormal, AffineStandardizer, Standardize } from './flows/index.js';
export type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions, Distribution, OnePassSampler, SampleVia, EvalOptions, SampleOptions, Conditioning, ContextInput, StandardizationState } from './flows/index.js';
export { AdditiveCoupling, AffineCoupling, DiagonalScaling, ActNorm, Permutation, LULinear, SplineCoupling, MaskedAutoregressive } from './discrete/index.js';
export type { CouplingOptions, SplineOptions, AutoregressiveOptions } from './discrete/index.js';
export { MLP } from './nn/index.js';
export { createFlow, FLOW_TYPES } from './biflow/registry.js';
export type { FlowConfig, FlowType } from './biflow/registry.js';
export { Stack, BLOCK_KINDS, DEFAULT_BLOCKS } from './biflow/stack.js';
export type { BlockKind, BlockSpec, BlockStats, StackOptions } from './biflow/stack.js';
export { Generator, forwardStates, countStates } from './biflow/generator.js';
export type { GeneratorOptions, GeneratorConfig } from './biflow/generator.js';
export { AlignmentObjective } from './biflow/align.js';
export type { AlignmentOptions } from './biflow/align.js';
export { energyDistance, samplerReport, samplerReportAsync } from './biflow/metrics.js';
export type { SamplerReport, SamplerReportOptions } from './biflow/metrics.js';
export { toleranceSweep, toleranceSweepAsync, problemSweep, referenceLogProb, referenceLogProbAsync } from './biflow/tolerance.js';
export type { SweepOptions, SweepRow, ToleranceResult, ProblemRow, ReferenceOptions } from './biflow/tolerance.js';
export { CNF, setTrace, cnfField64, cnfForward64 } from './ffjord/index.js';
export type { CNFOptions, CNFStats, TraceEstimator } from './ffjord/index.js';
export { flowMatchingObjective, flowMatchingBatch, FlowMatching, OBJECTIVES, AssignmentSolver, squaredDistanceAssignment } from './ffjord/index.js';
export type { Objective, FlowMatchingOptions, FlowMatchingBatch } from './ffjord/index.js';
export { ODENet, LAYER_KINDS } from './nn/index.js';
export type { ODENetOptions, LayerKind, AugmentedLayout } from './nn/index.js';
export { train } from './biflow/train-flow.js';
export type { FlowTrainOptions } from './biflow/train-flow.js';
export type { Trainable, TrainOptions, TrainResult, TrainCallbacks, IterationLogs, LogRecord } from './train/train.js';
export type { EarlyStoppingOptions } from './train/early-stopping.js';
export type { Checkpointer, CheckpointSession, OptimizerState, RunProgress } from './train/checkpointer.js';
export type { ProgressMode } from './train/progress.js';
export { loadFlow, saveFlow } from './biflow/io-url.js';
export { ModelFileError } from './biflow/flow-format.js';
export type { FlowArtifacts, FlowIOHandler, SavedFlow } from './biflow/flow-format.js';
export type { Dataset, DatasetContext } from './data/dataset.js';
export { conditionalDataset } from './data/conditional.js';
export { toyData, TOY_DATASETS } from './data/toy.js';
export type { ToyDataset } from './data/toy.js';
export { DataFileError } from './data/data-error.js';
export type { Table } from './data/data-error.js';
export { parseCsv } from './data/csv.js';
export { parseNpy, parseNpz, encodeNpy } from './data/npy.js';
export { TABULAR_DATASETS, standardization, standardize, splitTable } from './data/tabular.js';
export type { Splits, Standardization, TabularName } from './data/tabular.js';
export { DOUBLE_WELL, MUELLER_BROWN, POTENTIALS, energyGrad, regularizeEnergy, mcmc, quadratureFreeEnergy, importanceWeights, reweightedFreeEnergy, reverseKL } from './physics/index.js';
export type { Potential, McmcOptions, McmcResult, Sampler } from './physics/index.js';
