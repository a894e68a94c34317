/**
 * The Rosenbrock step for any {@link RosenbrockTableau}: one Jacobian (the user's, or central
 * differences: forward ones cost RODAS5 two digits on Robertson at rtol 1e-8) and one LU factorisation
 * per step (the Jacobian is kept across a rejected step, whose state is unchanged), s linear
 * solves and s − 1 evaluations of f beyond k₀ = f(t, y). No Newton iteration: the method is
 * linearly implicit. Float64 states, or tensor states through stiff-tensor.ts. The step returns the scaled norm of the embedded error; the controller decides.
 *
 * References: Hairer, Wanner, Solving ODEs II, §IV.7; Rang, Angermann, "New Rosenbrock
 * W-methods of order 3 for PDAEs of index 1", BIT 45 (2005) (the transformed form used here).
 */
import { SingularGuard, failedRatio } from './implicit.js';
import type { ImplicitOptions } from './implicit.js';
import { ImplicitSolver, checkStiffState, stiffMatrix } from './implicit-solver.js';
import type { RosenbrockTableau } from './rosenbrock-tableau.js';
import type { SolveStats } from './solve.js';
import type { RKWork } from './solver.js';
import type { StateSpace, Stepper, Tolerance, VectorField } from './space.js';
import { rodas5 } from './tableaux/rodas5.js';
import { rodas5p } from './tableaux/rodas5p.js';

/** A linearly implicit (Rosenbrock) solver for stiff problems, float64 or tensor states. */
export class Rosenbrock extends ImplicitSolver<RosenbrockTableau> {
  workspace<Y>(space: StateSpace<Y>, y0: Y, fn = this.name): RKWork<Y> {
    checkStiffState(space, y0, this.name, fn);
    const s = this.method.stages;
    const ks: Y[] = [];
    for (let i = 0; i <= s; i++) ks.push(space.buffer(y0));
    const f1 = space.buffer(y0);
    return { ks, K: [...ks, f1], stage: space.buffer(y0), y1: space.buffer(y0), err: space.buffer(y0), f1 };
  }

  stepper<Y>(space: StateSpace<Y>, f: VectorField<Y>, work: RKWork<Y>, tol: Tolerance | null, fn: string, stats: SolveStats): Stepper<Y> {
    const { a, C, c, d, m, e, gamma, stages: s } = this.method;
    // The step's result depends on J itself, so on tensor states J goes on the tape.
    const M = stiffMatrix(this, space, f, work.y1, true, fn, stats);
    const guard = new SingularGuard(fn, tol !== null);
    let rhs = space.buffer(work.y1);
    const fail = failedRatio(this.errorOrder);
    const ks = work.ks;
    // Stage i's right-hand side f(Yᵢ) + dᵢh∂f/∂t + Σⱼ Cᵢⱼ Kⱼ as one combination: coefficients
    // [1, dᵢh, Cᵢ₁…Cᵢᵢ] of [f(Yᵢ), ∂f/∂t, K₁…Kᵢ] (filled in place: the float64 loop allocates nothing).
    const coeffs = C.map((Ci, i) => Float64Array.from([1, 0, ...Array.from(Ci).slice(1, i + 1)]));
    const vecs: Y[] = new Array<Y>(s + 2);
    const stepper: Stepper<Y> = (t, y, h) => {
      const k0 = ks[0]!;
      // A rejected step retries from the same (t, y): its Jacobian still holds. The method's order
      // rests on an accurate J (it is not a W-method), hence central differences.
      if (!M.isAt(t, y)) M.evaluate(t, y, k0, true, true);
      const hg = h * gamma;
      if (M.factoredFor !== hg && !M.factor(hg)) {
        guard.failed(t, h);
        return fail;
      }
      guard.ok();
      for (let i = 0; i < s; i++) {
        let fi: Y = k0;
        if (i > 0) {
          work.stage = space.lincomb(work.stage, y, h, a[i]!, ks, i + 1);
          rhs = space.evaluate(f, t + c[i]! * h, work.stage, rhs, fn);
          fi = rhs;
          stats.nfe++;
        }
        // Kᵢ = γ M⁻¹ (f(Yᵢ) + dᵢh∂f/∂t + Σⱼ Cᵢⱼ Kⱼ).
        const ci = coeffs[i]!;
        ci[1] = h * d[i]!;
        vecs[0] = fi;
        vecs[1] = M.ft;
        for (let j = 1; j <= i; j++) vecs[j + 1] = ks[j]!;
        rhs = space.lincomb(rhs, null, gamma, ci, vecs, i + 2);
        ks[i + 1] = M.solve(rhs, ks[i + 1]!);
      }
      work.y1 = space.lincomb(work.y1, y, h, m, ks, s + 1);
      if (tol === null) return space.isFinite(work.y1) ? 0 : NaN;
      work.err = space.lincomb(work.err, null, h, e, ks, s + 1);
      return space.errorNorm(work.err, y, work.y1, tol);
    };
    return stepper;
  }
}

/**
 * RODAS5 (Di Marzo 1993): Rosenbrock 5(4), L-stable, stiffly accurate, 4th-order dense output.
 *
 * @example
 * solve({ f: robertson, y0: [1, 0, 0], t0: 0, t1: 1e5, solver: new Rodas5(),
 *         controller: new PIDController({ rtol: 1e-6, atol: 1e-10 }) });
 */
export class Rodas5 extends Rosenbrock {
  constructor(options: ImplicitOptions = {}) {
    super(rodas5, options);
  }
}

/**
 * Rodas5P (Steinebach 2023): RODAS5's structure with new coefficients; its embedded estimate
 * tracks the error on long relaxation steps (Van der Pol μ = 1000: 1.0× the tolerance at the check
 * points at rtol 1e-6, rodas5 17×).
 *
 * @example
 * solve({ f: robertson, y0: [1, 0, 0], t0: 0, t1: 1e5, solver: new Rodas5P(),
 *         controller: new PIDController({ rtol: 1e-6, atol: 1e-10 }) });
 */
export class Rodas5P extends Rosenbrock {
  constructor(options: ImplicitOptions = {}) {
    super(rodas5p, options);
  }
}
