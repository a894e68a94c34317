/**
 * What the stiff methods share: the Jacobian J = ∂f/∂y (the user's `jac` or finite differences),
 * ∂f/∂t where a Rosenbrock method needs it, and the LU factorisation of M = I − hγJ, each kept
 * and reused until the method asks for a new one (float64 states; stiff-tensor.ts does the same for
 * batched tensor states).
 *
 * References: Hairer, Wanner, Solving ODEs II, §IV.8 (Jacobian and LU reuse in RADAU5);
 * Shampine, Reichelt, "The MATLAB ODE suite", SIAM J. Sci. Comput. 18 (1997) (finite-difference
 * increments).
 */
import { InvalidArgumentError, SingularMatrixError } from '../errors.js';
import { float64Space } from './float64-space.js';
import { DenseLU } from './linalg.js';
import type { SolveStats } from './solve.js';
import type { VectorField } from './space.js';

/**
 * A user Jacobian: fills `J` (row-major n×n, J[i·n + j] = ∂fᵢ/∂yⱼ, zeroed before the call), or
 * returns the n·n entries (flat, or as n rows).
 */
export type JacobianFn = (t: number, y: Float64Array, J: Float64Array) => ArrayLike<number> | ArrayLike<ArrayLike<number>> | void;

/** Options of the stiff solvers. */
export interface ImplicitOptions {
  /** ∂f/∂y; default: forward differences, one evaluation of f per column. */
  jac?: JacobianFn;
}

const CBRT_EPS = Math.cbrt(Number.EPSILON);

/**
 * What a stiff step asks of its linear algebra, on float64 states ({@link IterationMatrix}) or
 * batched tensor states (`TensorIterationMatrix`): J = ∂f/∂y at a point, ∂f/∂t there, the
 * factorised M = I − hγJ and solves with it.
 */
export interface StiffMatrix<Y> {
  /** ∂f/∂t at the Jacobian's point (when requested). */
  readonly ft: Y;
  /** hγ of the current factorisation (NaN: none; a solver sets it to force a refactorisation). */
  factoredFor: number;
  /** Whether J was evaluated at exactly this (t, y). */
  isAt(t: number, y: Y): boolean;
  /** Evaluates J at (t, y) (and ∂f/∂t when `withTime`); `exact` is f(t, y) when known, else null. */
  evaluate(t: number, y: Y, exact: Y | null, withTime: boolean, central?: boolean): void;
  /** Factorises M = I − hγ·J; false when it is singular. */
  factor(hg: number): boolean;
  /** M⁻¹·b, written into `out` where the space is mutable; returns the result. */
  solve(b: Y, out: Y): Y;
}

/** Validates a `jac` option before any work. */
export function checkJac(jac: unknown, fn: string): JacobianFn | undefined {
  if (jac !== undefined && typeof jac !== 'function') {
    throw new InvalidArgumentError(fn, 'jac', jac, 'must be a function (t, y, J) => void filling the row-major n×n Jacobian ∂f/∂y, got {value}. Omit it for finite differences.');
  }
  return jac as JacobianFn | undefined;
}

/** The Jacobian, ∂f/∂t and the factorised iteration matrix M = I − hγJ of one solve. */
export class IterationMatrix implements StiffMatrix<Float64Array> {
  readonly J: Float64Array;
  /** ∂f/∂t at the Jacobian's point (when requested). */
  readonly ft: Float64Array;
  private readonly lu: DenseLU;
  private readonly yp: Float64Array;
  private readonly fp: Float64Array;
  private readonly f0: Float64Array;
  private readonly fm: Float64Array;
  private readonly scratch: Float64Array;
  /** hγ of the current factorisation (NaN: none). */
  factoredFor = NaN;
  /** Time and state buffer of the current Jacobian (its freshness test). */
  jt = NaN;
  jy: Float64Array | null = null;

  constructor(
    readonly n: number,
    private readonly f: VectorField<Float64Array>,
    private readonly jac: JacobianFn | undefined,
    private readonly fn: string,
    private readonly stats: SolveStats,
  ) {
    this.J = new Float64Array(n * n);
    this.ft = new Float64Array(n);
    this.lu = new DenseLU(n);
    this.yp = new Float64Array(n);
    this.fp = new Float64Array(n);
    this.f0 = new Float64Array(n);
    this.fm = new Float64Array(n);
    this.scratch = new Float64Array(n);
  }

  /** Whether J was evaluated at exactly this (t, y). */
  isAt(t: number, y: Float64Array): boolean {
    return this.jt === t && this.jy === y;
  }

  /**
   * Evaluates J at (t, y), and ∂f/∂t when `withTime`. Finite differences need f(t, y) exactly:
   * pass it as `exact`, or null to evaluate it here (an FSAL stage derivative that came out of a
   * Newton iteration is off by the Newton error, which a difference quotient would divide by δ).
   * Forward differences use Hairer's increment δⱼ = √(ε·max(10⁻⁵, |yⱼ|)) (RADAU5); `central`
   * differences, δⱼ = ε^⅓·max(10⁻⁵, |yⱼ|), cost twice as many evaluations but are exact for
   * quadratic terms. Every evaluation is counted in `stats.nfe`.
   */
  evaluate(t: number, y: Float64Array, exact: Float64Array | null, withTime: boolean, central = false): void {
    const { n, J, yp, fp, f, fn, stats } = this;
    stats.njev!++;
    let f0 = exact;
    if (f0 === null && (!(this.jac || central) || withTime)) {
      f0 = float64Space.evaluate(f, t, y, this.f0, fn);
      stats.nfe++;
    }
    if (this.jac) this.userJacobian(t, y);
    else {
      yp.set(y);
      const fm = this.fm;
      for (let j = 0; j < n; j++) {
        const yj = y[j]!;
        if (central) {
          const delta = CBRT_EPS * Math.max(1e-5, Math.abs(yj));
          const up = yj + delta;
          const down = yj - delta;
          yp[j] = up;
          float64Space.evaluate(f, t, yp, fp, fn);
          yp[j] = down;
          float64Space.evaluate(f, t, yp, fm, fn);
          stats.nfe += 2;
          for (let i = 0; i < n; i++) J[i * n + j] = (fp[i]! - fm[i]!) / (up - down);
        } else {
          const delta = (yj + Math.sqrt(Number.EPSILON * Math.max(1e-5, Math.abs(yj)))) - yj;
          yp[j] = yj + delta;
          float64Space.evaluate(f, t, yp, fp, fn);
          stats.nfe++;
          for (let i = 0; i < n; i++) J[i * n + j] = (fp[i]! - f0![i]!) / delta;
        }
        yp[j] = yj;
      }
    }
    if (withTime) {
      // RADAU5's increment for t (absolute near t = 0, relative beyond).
      const dt = (t + Math.sqrt(Number.EPSILON * Math.max(1e-5, Math.abs(t)))) - t;
      float64Space.evaluate(f, t + dt, y, fp, fn);
      stats.nfe++;
      for (let i = 0; i < n; i++) this.ft[i] = (fp[i]! - f0![i]!) / dt;
    }
    this.jt = t;
    this.jy = y;
    this.factoredFor = NaN;
  }

  private userJacobian(t: number, y: Float64Array): void {
    const { n, J, fn } = this;
    J.fill(0);
    const r = this.jac!(t, y, J);
    if (r !== undefined && r !== J) {
      const rows = r as ArrayLike<ArrayLike<number> | number>;
      const nested = rows.length === n && typeof rows[0] === 'object' && rows[0] !== null;
      const flat = nested ? Array.from(rows as ArrayLike<ArrayLike<number>>, (row) => Array.from(row)).flat() : Array.from(rows as ArrayLike<number>);
      const sized = nested ? Array.from(rows as ArrayLike<ArrayLike<number>>).every((row) => row?.length === n) : flat.length === n * n;
      if (!sized) throw new InvalidArgumentError(fn, 'jac', r, `must give the ${n}×${n} Jacobian (${n * n} entries, or ${n} rows of ${n}) at t = ${t}, got {value}. Fill its third argument J[i·n + j] = ∂fᵢ/∂yⱼ.`);
      for (let k = 0; k < n * n; k++) J[k] = flat[k]!;
    }
    for (let k = 0; k < n * n; k++) {
      if (!Number.isFinite(J[k]!)) {
        throw new InvalidArgumentError(fn, 'jac', J[k], `returned a non-finite entry J[${Math.floor(k / n)}][${k % n}] = {value} at t = ${t}. Check the Jacobian formula there.`);
      }
    }
  }

  /** Factorises M = I − hγ·J; false when M is singular (the caller rejects the step). */
  factor(hg: number): boolean {
    this.stats.nlu!++;
    const ok = this.lu.factorShifted(this.J, 0, hg);
    this.factoredFor = ok ? hg : NaN;
    return ok;
  }

  /** x ← M⁻¹·b (x and b may be the same buffer). */
  solve(b: Float64Array, x: Float64Array): Float64Array {
    return this.lu.solve(b, x, this.scratch);
  }
}

/**
 * Counts consecutive singular iteration matrices; after `limit` of them (each followed by a
 * halved step) the matrix is singular however short the step, and the solve stops. With a fixed
 * step (`adaptive` false) nothing would shrink the step, so the first one stops it.
 */
export class SingularGuard {
  private run = 0;
  constructor(private readonly fn: string, private readonly adaptive: boolean, private readonly limit = 8) {}
  ok(): void {
    this.run = 0;
  }
  failed(t: number, h: number): void {
    if (!this.adaptive) {
      throw new SingularMatrixError(`${this.fn}: the iteration matrix I − hγJ is singular at t = ${t} for the fixed step h = ${h}. Use another step, or an adaptive new PIDController({ rtol, atol }).`, t, h);
    }
    if (++this.run >= this.limit) {
      throw new SingularMatrixError(`${this.fn}: the iteration matrix I − hγJ stayed singular at t = ${t} after ${this.run} step reductions (last h = ${h}). Check the Jacobian there (a NaN or an infinite entry, or f not differentiable in y).`, t, h);
    }
  }
}

/**
 * The error ratio a stiff step reports when it cannot be completed (singular matrix, Newton
 * divergence): 2^k, which an integral controller answers by roughly halving the step.
 */
export const failedRatio = (errorOrder: number): number => 2 ** errorOrder;
