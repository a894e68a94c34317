/**
 * Step-size controllers decide whether a step is accepted and how long the next one is.
 *
 * A controller is a reusable configuration; {@link StepSizeController.begin} makes the
 * per-solve state (previous errors, step counter). Nothing is allocated per step.
 */
import { InvalidArgumentError } from '../errors.js';
import { driveSync, settle } from '../backend/reads.js';
import type { ReadingSteps } from '../backend/reads.js';
import { errorNormOf } from './space.js';
import type { StateSpace, Tolerance, VectorField } from './space.js';

/** What a controller may use to choose its first step. */
export interface ControllerContext<Y> {
  readonly space: StateSpace<Y>;
  readonly f: VectorField<Y>;
  readonly t0: number;
  readonly t1: number;
  readonly y0: Y;
  readonly f0: Y;
  /** Exponent base of the error estimate (embedded order + 1). */
  readonly errorOrder: number;
  /** Two scratch buffers shaped like y. */
  readonly scratch: [Y, Y];
  readonly fn: string;
  /** Counts function evaluations made by the controller. */
  countEvaluation(): void;
}

/** The per-solve half of a controller. */
export interface ActiveController {
  /** Signed length of the first step. */
  readonly firstStep: number;
  /** Signed length proposed for the next step, set by {@link ActiveController.decide}. */
  next: number;
  /** Whether the last rejection was caused by a non-finite state or derivative. */
  nonFinite: boolean;
  /** Smallest allowed step length: a rejected step this short is an underflow. */
  readonly minStep: number;
  /** Decide about a step of signed length h with scaled error `ratio`; sets `next`. */
  decide(t: number, h: number, ratio: number): boolean;
}

/** Decides acceptance and the next step size from the solver's error estimate. */
export interface StepSizeController {
  /** Tolerances for the error estimate, or null if the controller does not look at errors. */
  readonly tolerance: Tolerance | null;
  /** Starts controlling one solve: picks the first step and returns the per-solve decision state. */
  begin<Y>(ctx: ControllerContext<Y>): ActiveController;
  /**
   * Optionally, {@link StepSizeController.begin} as steps that yield the device reads it needs
   * (the solve loop drives it synchronously or asynchronously); `begin` is then its sync form.
   */
  start?<Y>(ctx: ControllerContext<Y>): ReadingSteps<ActiveController>;
}

const ONE = Float64Array.of(1);

const isPositive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

/**
 * Constant steps of length `dt` on the grid t₀ + n·dt (no drift from repeated addition), or steps
 * between the points of `grid`. The last step ends exactly at t₁.
 */
export class ConstantStepSize implements StepSizeController {
  readonly tolerance = null;
  readonly dt: number | undefined;
  readonly grid: readonly number[] | undefined = undefined;

  constructor({ dt, grid }: { dt?: number; grid?: ArrayLike<number> }) {
    const fn = 'ConstantStepSize';
    if (grid !== undefined) {
      if (dt !== undefined) throw new InvalidArgumentError(fn, 'dt', dt, 'cannot be combined with grid, got {value}. Give either { dt } or { grid }.');
      const g = Array.from(grid);
      if (g.length < 2 || g.some((v) => !Number.isFinite(v))) {
        throw new InvalidArgumentError(fn, 'grid', g, 'must hold at least two finite times (t0 first, t1 last), got {value}.');
      }
      const dir = Math.sign(g[1]! - g[0]!);
      if (dir === 0 || g.some((v, i) => i > 0 && Math.sign(v - g[i - 1]!) !== dir)) {
        throw new InvalidArgumentError(fn, 'grid', g, 'must be strictly monotone, got {value}. Sort it and remove repeated times.');
      }
      this.grid = g;
    } else if (!isPositive(dt)) {
      throw new InvalidArgumentError(fn, 'dt', dt, 'must be a positive finite number, got {value}. Pass e.g. { dt: 0.01 }.');
    }
    this.dt = dt;
  }

  /** Starts controlling one solve: picks the first step and returns the per-solve decision state. */
  begin<Y>(ctx: ControllerContext<Y>): ActiveController {
    const { t0, t1 } = ctx;
    if (this.grid && (this.grid[0] !== t0 || this.grid[this.grid.length - 1] !== t1)) {
      throw new InvalidArgumentError(ctx.fn, 'grid', this.grid, `must start at t0 = ${t0} and end at t1 = ${t1}, got {value}.`);
    }
    const dir = t1 >= t0 ? 1 : -1;
    const grid = this.grid;
    const dt = this.dt;
    let n = 0;
    const point = (k: number): number => (grid ? grid[Math.min(k, grid.length - 1)]! : t0 + dir * k * dt!);
    return {
      firstStep: point(1) - t0,
      next: 0,
      nonFinite: false,
      minStep: Infinity,
      decide(t: number, h: number, ratio: number): boolean {
        if (!Number.isFinite(ratio)) {
          this.nonFinite = true;
          return false;
        }
        n++;
        this.next = point(n + 1) - (t + h);
        return true;
      },
    };
  }
}

/** Options of {@link PIDController}: tolerances, PID coefficients, step-factor limits and the error norm. */
export interface PIDOptions {
  rtol: number | ArrayLike<number>;
  atol: number | ArrayLike<number>;
  /** Error norm: `'rms'` (default), `'max'`, or a function of the scaled error vector. */
  norm?: Tolerance['norm'];
  /** Proportional, integral, derivative coefficients (diffrax's convention). Default 0, 1, 0. */
  pcoeff?: number;
  icoeff?: number;
  dcoeff?: number;
  /** Safety factor on the proposed step (default 0.9). */
  safety?: number;
  /** Bounds on the step change factor (defaults 0.2 and 10). */
  factorMin?: number;
  factorMax?: number;
  /** First step; default chosen by Hairer's algorithm (one extra evaluation). */
  firstStep?: number;
  /** Steps never shrink below `minStep` (default 0); a rejected step at `minStep` is an underflow. */
  minStep?: number;
  maxStep?: number;
}

/**
 * Adaptive step size by a PID controller on the scaled error estimate; pure integral control
 * (h ← h·safety·ε^{−1/k}) by default, PI/PID by setting `pcoeff`/`dcoeff`.
 *
 * References: Söderlind, "Digital filters in adaptive time-stepping", ACM TOMS 29 (2003);
 * Hairer, Nørsett, Wanner, Solving ODEs I, §II.4 (initial step selection).
 *
 * @example
 * new PIDController({ rtol: 1e-6, atol: 1e-9 })                       // integral control
 * new PIDController({ rtol: 1e-6, atol: 1e-9, pcoeff: 0.4, icoeff: 0.3 }) // PI control
 */
export class PIDController implements StepSizeController {
  readonly tolerance: Tolerance;
  readonly pcoeff: number;
  readonly icoeff: number;
  readonly dcoeff: number;
  readonly safety: number;
  readonly factorMin: number;
  readonly factorMax: number;
  readonly firstStep: number | undefined;
  readonly minStep: number;
  readonly maxStep: number;

  constructor(opts: PIDOptions) {
    const fn = 'PIDController';
    if (opts === undefined || opts.rtol === undefined || opts.atol === undefined) {
      throw new InvalidArgumentError(fn, 'rtol/atol', opts, 'are required (there are no default tolerances), got {value}. Pass e.g. new PIDController({ rtol: 1e-6, atol: 1e-9 }).');
    }
    const {
      rtol, atol, norm, pcoeff = 0, icoeff = 1, dcoeff = 0, safety = 0.9, factorMin = 0.2, factorMax = 10,
      firstStep, minStep = 0, maxStep = Infinity,
    } = opts;
    const coeffError = (name: string, v: number) =>
      new InvalidArgumentError(fn, name, v, 'must be a finite number, got {value}. Integral control is { pcoeff: 0, icoeff: 1, dcoeff: 0 }.');
    if (!Number.isFinite(pcoeff)) throw coeffError('pcoeff', pcoeff);
    if (!Number.isFinite(icoeff)) throw coeffError('icoeff', icoeff);
    if (!Number.isFinite(dcoeff)) throw coeffError('dcoeff', dcoeff);
    if (!(safety > 0 && safety <= 1)) throw new InvalidArgumentError(fn, 'safety', safety, 'must be in (0, 1], got {value}. The usual value is 0.9.');
    if (!(factorMin > 0 && factorMin < 1)) throw new InvalidArgumentError(fn, 'factorMin', factorMin, 'must be in (0, 1), got {value}. The usual value is 0.2.');
    if (!(factorMax > 1)) throw new InvalidArgumentError(fn, 'factorMax', factorMax, 'must be greater than 1, got {value}. The usual value is 10.');
    if (firstStep !== undefined && !isPositive(firstStep)) throw new InvalidArgumentError(fn, 'firstStep', firstStep, 'must be a positive finite number (its sign follows the direction of time), got {value}.');
    if (!(minStep >= 0 && Number.isFinite(minStep))) throw new InvalidArgumentError(fn, 'minStep', minStep, 'must be a non-negative finite number, got {value}.');
    if (!(maxStep > 0) || maxStep < minStep) throw new InvalidArgumentError(fn, 'maxStep', maxStep, `must be positive and at least minStep (${minStep}), got {value}.`);
    this.tolerance = { rtol, atol, norm };
    this.pcoeff = pcoeff;
    this.icoeff = icoeff;
    this.dcoeff = dcoeff;
    this.safety = safety;
    this.factorMin = factorMin;
    this.factorMax = factorMax;
    this.firstStep = firstStep;
    this.minStep = minStep;
    this.maxStep = maxStep;
  }

  /** The same controller with other tolerances (and a fresh first-step choice). */
  withTolerance(rtol: number | ArrayLike<number>, atol: number | ArrayLike<number>): PIDController {
    const { pcoeff, icoeff, dcoeff, safety, factorMin, factorMax, minStep, maxStep } = this;
    return new PIDController({ rtol, atol, norm: this.tolerance.norm, pcoeff, icoeff, dcoeff, safety, factorMin, factorMax, minStep, maxStep });
  }

  /** Starts controlling one solve: picks the first step and returns the per-solve decision state. */
  begin<Y>(ctx: ControllerContext<Y>): ActiveController {
    return driveSync(this.start(ctx), ctx.fn, `${ctx.fn}Async`);
  }

  /** {@link PIDController.begin} as steps that yield the first-step choice's norm reads. */
  *start<Y>(ctx: ControllerContext<Y>): ReadingSteps<ActiveController> {
    const dir = ctx.t1 >= ctx.t0 ? 1 : -1;
    const k = ctx.errorOrder;
    // diffrax's parametrisation: factor = safety · ε_n^{−β₁} · ε_{n−1}^{−β₂} · ε_{n−2}^{−β₃}.
    const beta1 = (this.pcoeff + this.icoeff + this.dcoeff) / k;
    const beta2 = -(this.pcoeff + 2 * this.dcoeff) / k;
    const beta3 = this.dcoeff / k;
    const { safety, factorMin, factorMax, minStep, maxStep } = this;
    const span = Math.abs(ctx.t1 - ctx.t0);
    const clamp = (h: number): number => Math.min(Math.max(h, minStep), maxStep);
    const first = clamp(Math.min(this.firstStep ?? (yield* initialStepSteps(ctx, this.tolerance)), span));
    let prev1 = 1;
    let prev2 = 1;
    let lastRejected = false;
    return {
      firstStep: dir * first,
      next: 0,
      nonFinite: false,
      minStep,
      decide(_t: number, h: number, ratio: number): boolean {
        const size = Math.abs(h);
        let factor: number;
        let accept: boolean;
        if (!Number.isFinite(ratio)) {
          this.nonFinite = true;
          accept = false;
          factor = factorMin;
        } else {
          this.nonFinite = false;
          accept = ratio <= 1;
          if (accept) {
            // exp(−β·log ε) rather than ε ** −β: the same factor, at half the cost of a pow.
            let logFactor = -beta1 * Math.log(ratio);
            if (beta2 !== 0) logFactor -= beta2 * Math.log(prev1);
            if (beta3 !== 0) logFactor -= beta3 * Math.log(prev2);
            factor = ratio === 0 ? factorMax : safety * Math.exp(logFactor);
            factor = Math.min(Math.max(factor, factorMin), lastRejected ? 1 : factorMax);
            prev2 = prev1;
            prev1 = Math.max(ratio, 1e-4); // as Hairer: keep a tiny error from dominating later factors
          } else {
            // After a rejection only the integral term is trusted.
            factor = Math.max(factorMin, Math.min(1, safety * Math.exp(-Math.log(ratio) / k)));
          }
        }
        lastRejected = !accept;
        this.next = dir * clamp(size * factor);
        return accept;
      },
    };
  }
}

/**
 * Hairer's initial step: h₀ from ‖y₀‖ and ‖f₀‖, one Euler step to estimate ‖f′‖, then
 * h = min(100·h₀, (0.01 / max(‖f₀‖, ‖f′‖))^{1/k}), all norms scaled by the tolerances.
 */
export function initialStep<Y>(ctx: ControllerContext<Y>, tol: Tolerance): number {
  return driveSync(initialStepSteps(ctx, tol), ctx.fn, `${ctx.fn}Async`);
}

/** {@link initialStep} as steps that yield its three norm reads. */
function* initialStepSteps<Y>(ctx: ControllerContext<Y>, tol: Tolerance): ReadingSteps<number> {
  const { space, f, t0, t1, y0, f0, errorOrder: k, scratch, fn } = ctx;
  const dir = t1 >= t0 ? 1 : -1;
  const d0 = yield* settle(errorNormOf(space, y0, y0, y0, tol));
  const d1 = yield* settle(errorNormOf(space, f0, y0, y0, tol));
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  const [ybuf, fbuf] = scratch;
  const pair = [f0];
  const y1 = space.lincomb(ybuf, y0, dir * h0, ONE, pair, 1);
  const f1 = space.evaluate(f, t0 + dir * h0, y1, fbuf, fn);
  ctx.countEvaluation();
  const diff = space.lincomb(ybuf, f1, -1, ONE, pair, 1);
  const d2 = (yield* settle(errorNormOf(space, diff, y0, y0, tol))) / h0;
  const dmax = Math.max(d1, d2);
  const h1 = dmax <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / dmax) ** (1 / k);
  const h = Math.min(100 * h0, h1);
  return Number.isFinite(h) && h > 0 ? h : 1e-6;
}
