/**
 * The Rosenbrock step for any {@link RosenbrockTableau}: one Jacobian (the user's, or central
 * differences: forward ones cost RODAS5 two digits on Robertson at rtol 1e-8) and one LU factorisation
 * per step (the Jacobian is kept across a rejected step, whose state is unchanged), s linear
 * solves and s − 1 evaluations of f beyond k₀ = f(t, y). No Newton iteration: the method is
 * linearly implicit. The step returns the scaled norm of the embedded error; the controller decides.
 *
 * References: Hairer, Wanner, Solving ODEs II, §IV.7; Rang, Angermann, "New Rosenbrock
 * W-methods of order 3 for PDAEs of index 1", BIT 45 (2005) (the transformed form used here).
 */
import { float64Space } from './float64-space.js';
import { IterationMatrix, SingularGuard, failedRatio } from './implicit.js';
import type { ImplicitOptions } from './implicit.js';
import { ImplicitSolver } from './implicit-solver.js';
import type { RosenbrockTableau } from './rosenbrock-tableau.js';
import type { SolveStats } from './solve.js';
import type { RKWork } from './solver.js';
import type { StateSpace, Stepper, Tolerance, VectorField } from './space.js';
import { rodas5 } from './tableaux/rodas5.js';

/** A linearly implicit (Rosenbrock) solver for stiff problems, float64 states. */
export class Rosenbrock extends ImplicitSolver<RosenbrockTableau> {
  workspace<Y>(space: StateSpace<Y>, y0: Y): RKWork<Y> {
    const s = this.method.stages;
    const ks: Y[] = [];
    for (let i = 0; i <= s; i++) ks.push(space.buffer(y0));
    const f1 = space.buffer(y0);
    return { ks, K: [...ks, f1], stage: space.buffer(y0), y1: space.buffer(y0), err: space.buffer(y0), f1 };
  }

  stepper<Y>(_space: StateSpace<Y>, field: VectorField<Y>, w: RKWork<Y>, tol: Tolerance | null, fn: string, stats: SolveStats): Stepper<Y> {
    const f = field as unknown as VectorField<Float64Array>;
    const work = w as unknown as RKWork<Float64Array>;
    const { a, C, c, d, m, e, gamma, stages: s } = this.method;
    const n = work.y1.length;
    const M = new IterationMatrix(n, f, this.jac, fn, stats);
    const guard = new SingularGuard(fn, tol !== null);
    const rhs = new Float64Array(n);
    const fail = failedRatio(this.errorOrder);
    const ks = work.ks;
    const stepper: Stepper<Float64Array> = (t, y, h) => {
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
        let fi = k0;
        if (i > 0) {
          float64Space.lincomb(work.stage, y, h, a[i]!, ks, i + 1);
          fi = float64Space.evaluate(f, t + c[i]! * h, work.stage, rhs, fn);
          stats.nfe++;
        }
        // rhs = f(Yᵢ) + dᵢh∂f/∂t + Σⱼ Cᵢⱼ Kⱼ, then Kᵢ = γ M⁻¹ rhs.
        const Ci = C[i]!;
        const hd = h * d[i]!;
        for (let r = 0; r < n; r++) {
          let acc = fi[r]! + hd * M.ft[r]!;
          for (let j = 1; j <= i; j++) acc += Ci[j]! * ks[j]![r]!;
          rhs[r] = gamma * acc;
        }
        M.solve(rhs, ks[i + 1]!);
      }
      float64Space.lincomb(work.y1, y, h, m, ks, s + 1);
      if (tol === null) return float64Space.isFinite(work.y1) ? 0 : NaN;
      float64Space.lincomb(work.err, null, h, e, ks, s + 1);
      return float64Space.errorNorm(work.err, y, work.y1, tol);
    };
    return stepper as unknown as Stepper<Y>;
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
