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
import { FLOAT32_EPS } from './stiff-tensor.js';
import { SingularGuard, failedRatio } from './implicit.js';
import type { ImplicitOptions } from './implicit.js';
import { ImplicitSolver, checkStiffState, stiffMatrix } from './implicit-solver.js';
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

/** A singly diagonally implicit Runge–Kutta solver for stiff problems, float64 or tensor states. */
export class Esdirk extends ImplicitSolver<DirkTableau> {
  workspace<Y>(space: StateSpace<Y>, y0: Y, fn = this.name): RKWork<Y> {
    checkStiffState(space, y0, this.name, fn);
    const ks: Y[] = [];
    for (let i = 0; i < this.method.stages; i++) ks.push(space.buffer(y0));
    return { ks, K: [...ks, ks[ks.length - 1]!], stage: space.buffer(y0), y1: space.buffer(y0), err: space.buffer(y0), f1: ks[ks.length - 1]! };
  }

  stepper<Y>(space: StateSpace<Y>, f: VectorField<Y>, work: RKWork<Y>, tol: Tolerance | null, fn: string, stats: SolveStats): Stepper<Y> {
    const { a, c, e, gamma, predictor, stages: s } = this.method;
    // J only steers the Newton iteration (the converged stages do not depend on it): off the tape.
    const M = stiffMatrix(this, space, f, work.y1, false, fn, stats);
    const guard = new SingularGuard(fn, tol !== null);
    const fail = failedRatio(this.errorOrder);
    let base = space.buffer(work.y1);
    let z = space.buffer(work.y1);
    let fz = space.buffer(work.y1);
    let delta = space.buffer(work.y1);
    // Newton tolerance in the scaled norm: 1/100 of RADAU5's fnewt. RADAU5's own value was measured
    // too loose here: the main and embedded solutions share the stages, so the error estimate cannot
    // see an unconverged one, and on Van der Pol (μ = 1000) and OREGO at rtol 1e-3…1e-2 the error at
    // t1 reached 390× the tolerance. With 1/100 (also 1/80, 1/120) every run at 11 tolerances from
    // 1e-2 to 1e-8 on the four benchmark problems stays within 10×, for 40–55% more evaluations;
    // 1/30 still let two runs reach 40–60×. Without a controller, a fixed tolerance. On float32
    // (tensor) states a correction below ~10 ulps is round-off: RADAU5's floor 10·ε/rtol, undivided.
    const rtol = tol === null ? 1e-6 : typeof tol.rtol === 'number' ? tol.rtol : Math.min(...Array.from(tol.rtol));
    const eps = space === (float64Space as unknown) ? Number.EPSILON : FLOAT32_EPS;
    const kappa = Math.max(NEWTON_TOL_FACTOR * Math.max((10 * eps) / Math.max(rtol, 1e-300), Math.min(0.03, Math.sqrt(rtol))), eps === Number.EPSILON ? 0 : (10 * eps) / rtol);
    const newtonTol: Tolerance = tol ?? { rtol: 1e-6, atol: 1e-9 };
    // The Newton residual base + hγ f(z) − z, the update z + Δ and kᵢ = (zᵢ − baseᵢ)/(hγ) as
    // combinations (coefficients and vectors filled in place).
    const residual = Float64Array.of(0, -1);
    const diff = Float64Array.of(1, -1);
    const one = Float64Array.of(1);
    const pair: Y[] = [z, z];
    const single: Y[] = [z];
    let stale = true;
    let etaOld = 1;
    const stepper: Stepper<Y> = (t, y, h) => {
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
      residual[0] = hg;
      for (let i = 1; i < s; i++) {
        const ti = t + c[i]! * h;
        base = space.lincomb(base, y, h, a[i]!, ks, i);
        z = space.lincomb(z, base, hg, predictor[i]!, ks, i);
        let prev = 0;
        let eta = Math.max(etaOld, Number.EPSILON) ** 0.8;
        let converged = false;
        for (let it = 0; it < MAX_NEWTON; it++) {
          fz = space.evaluate(f, ti, z, fz, fn);
          stats.nfe++;
          // Simplified Newton on z − base − hγ f(z) = 0 with the factorised M (from hLU ≈ hγ).
          pair[0] = fz;
          pair[1] = z;
          delta = M.solve(space.lincomb(delta, base, 1, residual, pair, 2), delta);
          single[0] = delta;
          z = space.lincomb(z, z, 1, one, single, 1);
          const norm = space.errorNorm(delta, y, z, newtonTol);
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
        pair[0] = z;
        pair[1] = base;
        ks[i] = space.lincomb(ks[i]!, null, 1 / hg, diff, pair, 2);
      }
      work.y1 = space.lincomb(work.y1, z, 0, one, single, 0);
      if (tol === null) return space.isFinite(work.y1) ? 0 : NaN;
      work.err = space.lincomb(work.err, null, h, e, ks, s);
      return space.errorNorm(work.err, y, work.y1, tol);
    };
    return stepper;
  }
}

/**
 * Kvaerno5 (Kværnø 2004): ESDIRK 5(4), L-stable, stiffly accurate, FSAL; an order-4 continuous
 * extension as dense output. diffrax's default stiff method.
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
