/**
 * The options of a CNF block and their one validity check, which the CNF constructor and
 * `createFlow` both run, so a bad setting fails when the flow is built (or loaded), never at the
 * first solve.
 */
import { InvalidArgumentError } from '../errors.js';
import { TRACE_ESTIMATORS } from '../flows/bijector.js';
import type { TraceEstimator } from '../flows/bijector.js';
import { checkActivation } from '../nn/activations.js';
import type { ActivationName } from '../nn/activations.js';
import { checkContextDim, checkHidden, checkLayerKind } from '../nn/odenet.js';
import type { LayerKind } from '../nn/odenet.js';
import type { GradientMode } from '../ode/gradients.js';
import { solverFor } from '../ode/solver.js';
import { isStiffMethod } from '../ode/tableaux/index.js';
import type { MethodName } from '../ode/tableaux/index.js';

/** Options of a {@link CNF}: the ODE net, the solver and tolerances, the gradient mode, the trace estimator and the RNODE penalties. */
export interface CNFOptions {
  dim: number;
  /**
   * Width of the context c the dynamics condition on (default 0: unconditional): every layer of
   * the ODE net takes c (see {@link ODENet}); forward and inverse then need `options.context`.
   */
  contextDim?: number;
  hidden?: number[];
  layer?: LayerKind;
  activation?: ActivationName;
  /** End time T (default 0.5). */
  T?: number;
  method?: MethodName;
  rtol?: number;
  atol?: number;
  /** Fixed-step methods: the step. */
  stepSize?: number;
  /** Learn the end time T (as FFJORD does, T = s² with s trained); default true. */
  trainT?: boolean;
  /**
   * RNODE regularizers while training (Finlay et al., arXiv:2002.02798): weights of ∫‖f‖² and
   * ∫‖∂f/∂z‖²_F (Hutchinson: ‖(∂f/∂z)ε‖², an unbiased estimate; exact trace: the exact norm). Default 0.
   */
  kineticWeight?: number;
  jacobianWeight?: number;
  gradient?: GradientMode;
  /**
   * Evaluate the augmented dynamics as one op with a closed-form backward pass (default true);
   * false tapes the net and its vector–Jacobian products instead (the slower reference).
   */
  fused?: boolean;
  /**
   * The TRAINING estimator (default: exact for dim ≤ 8, Hutchinson otherwise). Evaluation is
   * exact whatever this says; see the class notes.
   */
  trace?: TraceEstimator;
  probe?: (typeof PROBES)[number];
  seed?: number;
}

/** Every gradient mode of the ODE layer (a record, so that a new mode fails to compile here until listed). */
const GRADIENT_MODES: Record<GradientMode, true> = { direct: true, backsolve: true, checkpoint: true };
/** The probe distributions of Hutchinson's estimator. */
export const PROBES = ['gaussian', 'rademacher'] as const;
/** Every key of {@link CNFOptions} (unknown keys are typos: rejected). */
const KEYS: Record<keyof CNFOptions, true> = {
  dim: true, contextDim: true, hidden: true, layer: true, activation: true, T: true, method: true, rtol: true, atol: true, stepSize: true, trainT: true,
  kineticWeight: true, jacobianWeight: true, gradient: true, fused: true, trace: true, probe: true, seed: true,
};

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Rejects a malformed CNF setting by name (`prefix` locates it in a larger configuration, e.g.
 * `cnf.` or `blocks[1].cnf.`). Only the fields present are checked; absent ones take defaults.
 */
export function checkCNFOptions(fn: string, o: Partial<CNFOptions>, prefix = ''): void {
  if (o == null || typeof o !== 'object' || Array.isArray(o)) throw new InvalidArgumentError(fn, prefix.replace(/\.$/, '') || 'options', o, "must be an object such as { method: 'dopri5', rtol: 1e-5, atol: 1e-5 }, got {value}.");
  const at = (k: string) => `${prefix}${k}`;
  for (const k of Object.keys(o)) {
    if (!Object.prototype.hasOwnProperty.call(KEYS, k)) throw new InvalidArgumentError(fn, at(k), (o as Record<string, unknown>)[k], `is not a CNF option (got {value}). Known: ${Object.keys(KEYS).join(', ')}.`);
  }
  if (o.dim !== undefined && (!Number.isInteger(o.dim) || o.dim < 1)) throw new InvalidArgumentError(fn, at('dim'), o.dim, 'must be a positive integer, got {value}.');
  if (o.contextDim !== undefined) checkContextDim(fn, o.contextDim, at('contextDim'));
  if (o.hidden !== undefined) checkHidden(fn, o.hidden, at('hidden'));
  if (o.layer !== undefined) checkLayerKind(fn, o.layer, at('layer'));
  if (o.activation !== undefined) checkActivation(fn, o.activation, { relu: false, arg: at('activation') });
  if (o.T !== undefined && !positive(o.T)) throw new InvalidArgumentError(fn, at('T'), o.T, 'must be a positive end time, got {value}. The usual value is 0.5.');
  if (o.method !== undefined) {
    if (typeof o.method === 'string' && isStiffMethod(o.method)) throw new InvalidArgumentError(fn, at('method'), o.method, 'is a stiff method, got {value}; a CNF cannot use one: the stiff methods on tensor states take one [B, D] tensor of independent rows (J by D vector–Jacobian products), while a CNF integrates the tuple [z, log p, …] whose log-density term is the trace of the net\'s Jacobian (a stiff J would need its second derivatives, and a Hutchinson trace makes it random). Use an explicit method (dopri5, tsit5).');
    solverFor(o.method, fn);
  }
  for (const k of ['rtol', 'atol'] as const) {
    if (o[k] !== undefined && !positive(o[k])) throw new InvalidArgumentError(fn, at(k), o[k], 'must be a positive finite number, got {value}. Pass e.g. { rtol: 1e-5, atol: 1e-5 }.');
  }
  if (o.stepSize !== undefined && !positive(o.stepSize)) throw new InvalidArgumentError(fn, at('stepSize'), o.stepSize, 'must be a positive finite step, got {value}. Pass e.g. { method: \'rk4\', stepSize: 0.05 }.');
  for (const k of ['kineticWeight', 'jacobianWeight'] as const) {
    if (o[k] !== undefined && !nonNegative(o[k])) throw new InvalidArgumentError(fn, at(k), o[k], 'must be a non-negative finite weight, got {value}. The RNODE paper uses 0.01.');
  }
  if (o.gradient !== undefined && !Object.prototype.hasOwnProperty.call(GRADIENT_MODES, o.gradient)) throw new InvalidArgumentError(fn, at('gradient'), o.gradient, `must be one of ${Object.keys(GRADIENT_MODES).join(', ')}, got {value}.`);
  if (o.trace !== undefined && !TRACE_ESTIMATORS.includes(o.trace)) throw new InvalidArgumentError(fn, at('trace'), o.trace, `must be one of ${TRACE_ESTIMATORS.join(', ')} (the training estimator; evaluation is always exact), got {value}.`);
  if (o.probe !== undefined && !PROBES.includes(o.probe)) throw new InvalidArgumentError(fn, at('probe'), o.probe, `must be one of ${PROBES.join(', ')}, got {value}.`);
  for (const k of ['trainT', 'fused'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new InvalidArgumentError(fn, at(k), o[k], 'must be true or false, got {value}.');
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new InvalidArgumentError(fn, at('seed'), o.seed, 'must be an integer, got {value}.');
}
