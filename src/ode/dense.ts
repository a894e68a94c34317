/**
 * Dense output: each accepted step's interpolant stored as a polynomial in θ = (t − tₙ)/hₙ,
 *   y(tₙ + θhₙ) = yₙ + Σₚ θᵖ cₚ,   cₚ = hₙ Σᵢ Wₚᵢ Kᵢ,
 * with the method's own weights W (dopri5's and tsit5's 4th-order interpolants, dopri8's
 * continuous extension, cubic Hermite otherwise).
 */
import { InvalidArgumentError } from '../errors.js';
import type { StateSpace } from './space.js';

/**
 * What interpolation and the solve loop need from a method: its stage count, FSAL, error weights
 * and dense rows over `[k₀…k_{s−1}, f₁]`. A `ButcherTableau` is one; the stiff methods build
 * their own (their stage vectors are not derivatives at stage points, but the same contract holds).
 */
export interface StepInterpolant {
  readonly stages: number;
  readonly fsal: boolean;
  readonly e?: Float64Array | undefined;
  readonly dense: readonly Float64Array[];
}

/** Writes the weights wᵢ(θ) = Σₚ Wₚᵢ θᵖ of the step interpolant into `w` (length stages + 1). */
export function interpolationWeights(tableau: StepInterpolant, theta: number, w: Float64Array): Float64Array {
  w.fill(0);
  let power = theta;
  for (const row of tableau.dense) {
    for (let i = 0; i < row.length; i++) w[i] += row[i]! * power;
    power *= theta;
  }
  return w;
}

/** Whether the interpolant needs f(t₁, y₁) as a separate vector (non-FSAL methods with Hermite). */
export function needsF1(tableau: StepInterpolant): boolean {
  const s = tableau.stages;
  return !tableau.fsal && tableau.dense.some((row) => row[s] !== 0);
}

/** The piecewise-polynomial solution over all accepted steps. */
export class DenseOutput<Y> {
  private readonly t0s: number[] = [];
  private readonly hs: number[] = [];
  private readonly y0s: Y[] = [];
  private readonly coeffs: Y[][] = [];
  private end: number;
  private readonly direction: number;

  constructor(
    private readonly space: StateSpace<Y>,
    readonly t0: number,
    t1: number,
    private readonly y0: Y,
  ) {
    this.end = t0;
    this.direction = t1 >= t0 ? 1 : -1;
  }

  /** Stores one accepted step from its stage vectors K; returns the new values it keeps. */
  push(tableau: StepInterpolant, t: number, h: number, y: Y, K: readonly Y[]): Y[] {
    const n = K.length;
    const y0 = this.space.copy(y);
    const c = tableau.dense.map((row) => this.space.lincomb(this.space.buffer(y), null, h, row, K, n));
    this.t0s.push(t);
    this.hs.push(h);
    this.y0s.push(y0);
    this.coeffs.push(c);
    this.end = t + h;
    return [y0, ...c];
  }

  /** Cuts the last step at `t` (a terminal event). */
  truncate(t: number): void {
    this.end = t;
  }

  /** Appends the steps of `next`, which starts where this one ends (a solve continued by another method). */
  extend(next: DenseOutput<Y>): void {
    this.t0s.push(...next.t0s);
    this.hs.push(...next.hs);
    this.y0s.push(...next.y0s);
    this.coeffs.push(...next.coeffs);
    this.end = next.end;
  }

  /** Every state value this interpolant holds (to release tensor-backed ones). */
  values(): Y[] {
    return [this.y0, ...this.y0s, ...this.coeffs.flat()];
  }

  /** The time the interpolant reaches. */
  get t1(): number {
    return this.end;
  }

  get steps(): number {
    return this.t0s.length;
  }

  /** The solution at time t, anywhere between t0 and the end of the solve. */
  evaluate(t: number): Y {
    const dir = this.direction;
    const lo = Math.min(this.t0, this.end);
    const hi = Math.max(this.t0, this.end);
    if (!(t >= lo && t <= hi)) {
      throw new InvalidArgumentError('Solution.evaluate', 't', t, `must lie in the solved interval [${lo}, ${hi}], got {value}.`);
    }
    if (this.t0s.length === 0) return this.space.copy(this.y0);
    // Last step whose start is at or before t (in the direction of integration).
    let a = 0;
    let b = this.t0s.length - 1;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if ((t - this.t0s[mid]!) * dir >= 0) a = mid;
      else b = mid - 1;
    }
    const h = this.hs[a]!;
    const theta = (t - this.t0s[a]!) / h;
    const c = this.coeffs[a]!;
    const powers = new Float64Array(c.length);
    let p = theta;
    for (let i = 0; i < c.length; i++, p *= theta) powers[i] = p;
    const y0 = this.y0s[a]!;
    return this.space.lincomb(this.space.buffer(y0), y0, 1, powers, c, c.length);
  }
}
