/**
 * A state space tells the generic solver how to do arithmetic on one kind of state.
 *
 * The solver only ever forms linear combinations `base + h·Σⱼ cⱼ vⱼ`, evaluates the vector
 * field, and asks for a scaled error norm. Mutable spaces (Float64Array) write into the `out`
 * buffer they are handed and return it, so the inner loop allocates nothing; immutable spaces
 * (tfjs tensors, tuples of them) ignore `out` and return a new value. The solver always uses
 * the returned value, so both work with no change to the solver.
 */
import type { PendingRead, Read } from '../backend/reads.js';
import type { RKWork } from './solver.js';
import type { ButcherTableau } from './tableau.js';

/** Arithmetic on one kind of state (Float64Array, tensor, tuple) for the generic solver. */
export interface StateSpace<Y> {
  /** Short name for messages, e.g. `Float64Array`. */
  readonly name: string;
  /** Validates `y0` and returns a private copy the solver may own. `fn` names the caller in errors. */
  init(y0: Y, fn: string): Y;
  /** A work buffer shaped like `like` (mutable spaces) or `like` itself (immutable ones). */
  buffer(like: Y): Y;
  /** A copy that outlives the solver's buffers (for saved outputs). */
  copy(y: Y): Y;
  /**
   * `out ← base + scale·Σⱼ<n coeffs[j]·vecs[j]` with zero coefficients skipped
   * (`base === null` means zero). Returns the result.
   */
  lincomb(out: Y, base: Y | null, scale: number, coeffs: ArrayLike<number>, vecs: readonly Y[], n: number): Y;
  /** Evaluates the vector field at (t, y) into `out` and returns the result; `fn` names the caller in errors. */
  evaluate(f: VectorField<Y>, t: number, y: Y, out: Y, fn: string): Y;
  /**
   * Scaled error norm ‖err / (atol + rtol·max(|y0|, |y1|))‖. NaN or ∞ when anything involved
   * is non-finite, which the controller treats as a failed step.
   */
  errorNorm(err: Y, y0: Y, y1: Y, tol: Tolerance): number;
  /** Whether every entry is finite. */
  isFinite(y: Y): boolean;
  /**
   * Optionally (spaces whose values live on a device), the error norm as a read the solve's
   * driver answers, synchronously or asynchronously: the one read per adaptive step.
   */
  errorNormRead?(err: Y, y0: Y, y1: Y, tol: Tolerance): PendingRead<number>;
  /** Optionally, the finiteness check as a read (skipped where no synchronous read exists). */
  isFiniteRead?(y: Y): Read<boolean>;
  /** Validates tolerances against the state (per-component arrays must match its size). */
  checkTolerance(tol: Tolerance, y0: Y, fn: string): void;
  /**
   * Optionally, a fused step for one solve: same contract as {@link RungeKutta.step} but
   * specialised to this space (fewer passes, no per-stage calls). Null to use the generic step.
   */
  fusedStepper?(tableau: ButcherTableau, f: VectorField<Y>, work: RKWork<Y>, tol: Tolerance | null, fn: string): Stepper<Y> | null;
  /**
   * Optionally, memory management for one solve (tensor spaces): called before the state is
   * created; `collect` runs after every attempted step, `close` once at the end (also on errors).
   */
  openScope?(): SolveScope<Y>;
}

/** Per-solve memory bookkeeping of a space whose values must be disposed. */
export interface SolveScope<Y> {
  /** Keeps the live `state` and the `fresh` outputs made since the last call; frees the rest. */
  collect(state: Y[], fresh: Y[]): void;
  /** Keeps `outputs` (handing them to the caller) and frees all internal state. */
  close(outputs: Y[]): void;
}

/** One solve's step function: advances (t, y) by h into `work`, returns the error ratio (or the read that gives it). */
export type Stepper<Y> = (t: number, y: Y, h: number) => Read<number>;

/** The scaled error norm as a read where the space has one, else computed now. */
export function errorNormOf<Y>(space: StateSpace<Y>, err: Y, y0: Y, y1: Y, tol: Tolerance): Read<number> {
  return space.errorNormRead ? space.errorNormRead(err, y0, y1, tol) : space.errorNorm(err, y0, y1, tol);
}

/** Whether every entry is finite, as a read where the space has one, else computed now. */
export function finiteOf<Y>(space: StateSpace<Y>, y: Y): Read<boolean> {
  return space.isFiniteRead ? space.isFiniteRead(y) : space.isFinite(y);
}

/** A vector field f(t, y). Float64 fields may instead write into `out` and return nothing. */
export type VectorField<Y> = (t: number, y: Y, out: Y) => Y | ArrayLike<number> | void;

/** Error norm over the scaled error vector e: `rms` (default, as Hairer and torchdiffeq), `max`, or custom. */
export type NormKind = 'rms' | 'max' | ((scaled: Float64Array) => number);

/** Relative and absolute tolerances, scalar or one per component, and the norm that folds them. */
export interface Tolerance {
  readonly rtol: number | ArrayLike<number>;
  readonly atol: number | ArrayLike<number>;
  readonly norm?: NormKind;
}
