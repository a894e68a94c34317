/**
 * The one contract every block of a flow meets, continuous or discrete (zuko's transform with
 * `call_and_ladj` as the fast path).
 *
 * `forward` maps data → latent and returns log|det ∂y/∂x| per row; `inverse` maps latent → data
 * and returns log|det ∂x/∂y| per row (the negative of the forward log-det at the same point).
 * Inputs and outputs are `[N, dim]` float32 tensors; log-dets are `[N]`.
 */
import type { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';

/** How a CNF block computes tr ∂f/∂z: exactly (one tangent per dimension) or by Hutchinson's unbiased one-probe estimate. */
export type TraceEstimator = 'exact' | 'hutchinson';

/**
 * Per-call options of a pass, handed down through every composition (discrete blocks ignore them).
 *
 * The rule: a pass is EXACT unless asked otherwise — every CNF block takes the exact trace,
 * whatever estimator it was configured to train with. `trace: 'hutchinson'` asks for the
 * one-probe estimate, its probe drawn from `seed` (default 0) and the block's own seed, so the
 * same seed gives the same values. `training: true` marks a training step (what `Flow.loss`
 * passes): each CNF uses its configured training estimator, draws a fresh probe per step from its
 * counter, and records its RNODE penalty; an explicit `trace`/`seed` still wins.
 */
export interface PassOptions {
  trace?: TraceEstimator;
  seed?: number;
  training?: boolean;
  /**
   * The conditioning rows c of a conditional flow, `[N, contextDim]` (one row per input row),
   * already broadcast and checked by the caller (`Flow`); blocks read it, none changes it.
   */
  context?: tf.Tensor2D;
}

/** The trace estimators, in one list (option checks read it). */
export const TRACE_ESTIMATORS: readonly TraceEstimator[] = ['exact', 'hutchinson'];

/** Rejects malformed per-call options by name, before any work starts. */
export function checkPassOptions(fn: string, o: (Omit<PassOptions, 'context'> & { context?: unknown }) | undefined): Omit<PassOptions, 'context'> {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError(fn, 'options', o, "must be an object such as { trace: 'hutchinson', seed: 1 }, got {value}.");
  if (o.trace !== undefined && !TRACE_ESTIMATORS.includes(o.trace)) throw new InvalidArgumentError(fn, 'trace', o.trace, `must be one of ${TRACE_ESTIMATORS.join(', ')}, got {value}.`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new InvalidArgumentError(fn, 'seed', o.seed, 'must be an integer, got {value}.');
  return o;
}

/** A forward pass: the latent rows y and log|det ∂y/∂x| per row. */
export interface BijectorResult {
  y: tf.Tensor2D;
  logDet: tf.Tensor1D;
}

/** An inverse pass: the data rows x and log|det ∂x/∂y| per row. */
export interface InverseResult {
  x: tf.Tensor2D;
  logDet: tf.Tensor1D;
}

/** A JSON description from which the registry rebuilds the bijector (weights apart). */
export interface BijectorConfig {
  kind: string;
  [key: string]: unknown;
}

/** The contract every block of a flow meets, continuous or discrete: forward (data → latent) and inverse, each with its log|det J| per row. */
export interface Bijector {
  readonly dim: number;
  /** Maps data → latent; returns log|det ∂y/∂x| per row (exact unless `options` ask otherwise). */
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult;
  /** Maps latent → data; returns log|det ∂x/∂y| per row (exact unless `options` ask otherwise). */
  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult;
  /** Every variable training should update, in a fixed order (save/load relies on it). */
  readonly trainableVariables: tf.Variable[];
  /** The JSON description the registry rebuilds this block from. */
  getConfig(): BijectorConfig;
  /** Data-dependent initialisation (ActNorm, a standardisation); a no-op for most blocks. `options.context`: a conditional flow's context rows. */
  initialize?(x: tf.Tensor2D, options?: PassOptions): void;
  /** A penalty the latest forward pass adds to the training loss (RNODE), or null. */
  regularization?(): tf.Scalar | null;
  /** Numbers worth logging while training (a CNF's NFE); summed over a Sequential. */
  solverStats?(): Record<string, number>;
  /** Releases the variables. */
  dispose(): void;
}
