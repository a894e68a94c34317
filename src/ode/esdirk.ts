/**
 * The ESDIRK step for any {@link DirkTableau}: each implicit stage zᵢ = baseᵢ + hγ f(tᵢ, zᵢ) is
 * solved by simplified Newton iterations with M = I − hγJ. The Jacobian is kept across steps and
 * refreshed only when Newton converged slowly or failed; M is refactorised only when hγ moved by
 * more than 20% (as RADAU5 does). Newton stops on Hairer–Wanner's test η‖Δ‖ ≤ κ with the
 * convergence rate θ = ‖Δₖ‖/‖Δₖ₋₁‖ and η = θ/(1 − θ); θ ≥ 1, or a predicted miss after the
 * remaining iterations, rejects the step (the controller then halves it). The embedded error is
 * used unfiltered (as diffrax): filtering it through M⁻¹ (RADAU5's smoothing) was measured here to
 * under-estimate the error on Robertson and on y′ = −10⁶(y − cos t), by up to 100×.
 *
 * References: Hairer, Wanner, Solving ODEs II, §IV.8 (Newton stopping test, reuse strategy);
 * Kværnø, BIT 44 (2004).
 */
import { InvalidArgumentError } from '../errors.js';
import type { DirkTableau } from './dirk-tableau.js';
import { float64Space } from './float64-space.js';
import { IterationMatrix, SingularGuard, failedRatio } from './implicit.js';
import type { ImplicitOptions } from './implicit.js';
import { ImplicitSolver } from './implicit-solver.js';
import type { SolveStats } from './solve.js';
import type { RKWork } from './solver.js';
import type { StateSpace, Stepper, Tolerance, VectorField } from './space.js';
import { kvaerno5 } from './tableaux/kvaerno5.js';

/** Newton iterations allowed per stage (diffrax's root_find_max_steps). */
const MAX_NEWTON = 10;
/**
 * A Newton rate above this marks the Jacobian stale for the next step. Measured on the four
 * benchmark problems at rtol 1e-4…1e-8: 0.2 or 0.5 save Jacobians but cost 15–20% more
 * evaluations in Newton iterations, and at 0.2 Van der Pol (μ = 1000, rtol 1e-4) went wrong.
 */
const THETA_REFRESH = 0.05;
/** The Newton tolerance as a fraction of RADAU5's (see the stepper). */
const NEWTON_TOL_FACTOR = 1 / 100;
/** hγ may move this far (relatively) before M is refactorised. */
const REFACTOR = 0.2;

/** A singly diagonally implicit Runge–Kutta solver for stiff problems, float64 states. */
export class Esdirk extends ImplicitSolver<DirkTableau> {
  workspace<Y>(space: StateSpace<Y>, y0: Y): RKWork<Y> {
    const ks: Y[] = [];
    for (let i = 0; i < this.method.stages; i++) ks.push(space.buffer(y0));
    return { ks, K: [...ks, ks[ks.length - 1]!], stage: space.buffer(y0), y1: space.buffer(y0), err: space.buffer(y0), f1: ks[ks.length - 1]! };
  }

  stepper<Y>(_space: StateSpace<Y>, field: VectorField<Y>, w: RKWork<Y>, tol: Tolerance | null, fn: string, stats: SolveStats): Stepper<Y> {
    const f = field as unknown as VectorField<Float64Array>;
    const work = w as unknown as RKWork<Float64Array>;
    const { a, c, e, gamma, predictor, stages: s } = this.method;
    const n = work.y1.length;
    const M = new IterationMatrix(n, f, this.jac, fn, stats);
    const guard = new SingularGuard(fn, tol !== null);
    const fail = failedRatio(this.errorOrder);
    const base = new Float64Array(n);
    const z = new Float64Array(n);
    const fz = new Float64Array(n);
    const delta = new Float64Array(n);
    // Newton tolerance in the scaled norm: 1/100 of RADAU5's fnewt. RADAU5's own value was measured
    // too loose here: the main and embedded solutions share the stages, so the error estimate cannot
    // see an unconverged one, and on Van der Pol (μ = 1000) and OREGO at rtol 1e-3…1e-2 the error at
    // t1 reached 390× the tolerance. With 1/100 (also 1/80, 1/120) every run at 11 tolerances from
    // 1e-2 to 1e-8 on the four benchmark problems stays within 10×, for 40–55% more evaluations;
    // 1/30 still let two runs reach 40–60×. Without a controller, a fixed tolerance.
    const rtol = tol === null ? 1e-6 : typeof tol.rtol === 'number' ? tol.rtol : Math.min(...Array.from(tol.rtol));
    const kappa = NEWTON_TOL_FACTOR * Math.max((10 * Number.EPSILON) / Math.max(rtol, 1e-300), Math.min(0.03, Math.sqrt(rtol)));
    const newtonTol: Tolerance = tol ?? { rtol: 1e-6, atol: 1e-9 };
    let stale = true;
    let etaOld = 1;
    const stepper: Stepper<Float64Array> = (t, y, h) => {
      const ks = work.ks;
      if (stale && !M.isAt(t, y)) {
        M.evaluate(t, y, null, false);
        stale = false;
      }
      const hg = h * gamma;
      if (!(Math.abs(hg / M.factoredFor - 1) <= REFACTOR) && !M.factor(hg)) {
        guard.failed(t, h);
        stale = true;
        return fail;
      }
      guard.ok();
      for (let i = 1; i < s; i++) {
        const ti = t + c[i]! * h;
        float64Space.lincomb(base, y, h, a[i]!, ks, i);
        float64Space.lincomb(z, base, hg, predictor[i]!, ks, i);
        let prev = 0;
        let eta = Math.max(etaOld, Number.EPSILON) ** 0.8;
        let converged = false;
        for (let it = 0; it < MAX_NEWTON; it++) {
          float64Space.evaluate(f, ti, z, fz, fn);
          stats.nfe++;
          // Simplified Newton on z − base − hγ f(z) = 0 with the factorised M (from hLU ≈ hγ).
          for (let r = 0; r < n; r++) delta[r] = base[r]! + hg * fz[r]! - z[r]!;
          M.solve(delta, delta);
          for (let r = 0; r < n; r++) z[r]! += delta[r]!;
          const norm = float64Space.errorNorm(delta, y, z, newtonTol);
          if (!Number.isFinite(norm)) break;
          if (it > 0) {
            const theta = norm / prev;
            if (theta > THETA_REFRESH) stale = true;
            if (theta >= 1 || (theta ** (MAX_NEWTON - 1 - it) / (1 - theta)) * norm > kappa) break;
            eta = theta / (1 - theta);
          }
          if (eta * norm <= kappa || norm === 0) {
            converged = true;
            break;
          }
          prev = norm;
        }
        if (!converged) {
          if (tol === null) {
            // A fixed step cannot be shortened, and accepting the unconverged stage would be silent garbage.
            throw new InvalidArgumentError(fn, 'dt', h, `is too large for ${this.name}'s Newton iteration at t = ${t} (stage ${i} did not converge in ${MAX_NEWTON} iterations). Use a smaller step, or an adaptive new PIDController({ rtol, atol }).`);
          }
          // A stale Jacobian is the usual culprit: refresh it before the retry with a shorter step.
          stale = true;
          M.factoredFor = NaN;
          return fail;
        }
        etaOld = eta;
        // kᵢ from the converged stage itself, (zᵢ − baseᵢ)/(hγ): exact for the stage equation and free.
        const ki = ks[i]!;
        for (let r = 0; r < n; r++) ki[r] = (z[r]! - base[r]!) / hg;
      }
      work.y1.set(z);
      if (tol === null) return float64Space.isFinite(work.y1) ? 0 : NaN;
      float64Space.lincomb(work.err, null, h, e, ks, s);
      return float64Space.errorNorm(work.err, y, work.y1, tol);
    };
    return stepper as unknown as Stepper<Y>;
  }
}

/**
 * Kvaerno5 (Kværnø 2004): ESDIRK 5(4), L-stable, stiffly accurate, FSAL; cubic Hermite dense
 * output (order 3). diffrax's default stiff method.
 *
 * @example
 * solve({ f: vanDerPol1000, y0: [2, 0], t0: 0, t1: 3000, solver: new Kvaerno5(),
 *         controller: new PIDController({ rtol: 1e-6, atol: 1e-6 }) });
 */
export class Kvaerno5 extends Esdirk {
  constructor(options: ImplicitOptions = {}) {
    super(kvaerno5, options);
  }
}
