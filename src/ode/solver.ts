/**
 * One generic explicit Runge–Kutta step that runs any {@link ButcherTableau}.
 *
 * The step only computes: the new state, the stage derivatives and an error ratio. Whether the
 * step is accepted, and the next step size, are the controller's decision (diffrax's split).
 */
import { InvalidArgumentError } from '../errors.js';
import { OdeSolver } from './solver-base.js';
import { errorNormOf, finiteOf } from './space.js';
import type { StateSpace, Stepper, Tolerance, VectorField } from './space.js';
import type { Read } from '../backend/reads.js';
import type { ButcherTableau } from './tableau.js';
import { TABLEAUX, bosh3, dopri5, dopri8, euler, heun, midpoint, rk4, tsit5, RK_METHOD_NAMES } from './tableaux/index.js';
import type { RKMethodName } from './tableaux/index.js';

/** Buffers one solve needs; allocated once, reused every step. */
export interface RKWork<Y> {
  /** Stage derivatives k₀…k_{s−1}; `ks[0]` holds f(t, y) on entry to a step. */
  readonly ks: Y[];
  /** `[k₀…k_{s−1}, f₁]`, the vectors the dense-output weights refer to (synced on demand by the solve). */
  readonly K: Y[];
  stage: Y;
  y1: Y;
  err: Y;
  /** f(t₁, y₁) for methods without FSAL. */
  f1: Y;
}

/** A solver that takes one explicit Runge–Kutta step of any {@link ButcherTableau}; acceptance is the controller's decision. */
export class RungeKutta extends OdeSolver {
  constructor(readonly tableau: ButcherTableau) {
    super();
  }

  get name(): string {
    return this.tableau.name;
  }
  get order(): number {
    return this.tableau.order;
  }
  /** Order of the local error estimate's exponent: embedded order + 1 (5 for dopri5). */
  get errorOrder(): number {
    return (this.tableau.embeddedOrder ?? this.tableau.order) + 1;
  }
  get adaptive(): boolean {
    return this.tableau.adaptive;
  }
  /** Every stage after k₀ is one evaluation; the loop counts them. */
  get evaluationsPerStep(): number {
    return this.tableau.stages - 1;
  }

  /** The buffers one solve reuses at every step, allocated once for this state space. */
  workspace<Y>(space: StateSpace<Y>, y0: Y): RKWork<Y> {
    const s = this.tableau.stages;
    const ks: Y[] = [];
    for (let i = 0; i < s; i++) ks.push(space.buffer(y0));
    const f1 = this.tableau.fsal ? ks[s - 1]! : space.buffer(y0);
    const K = ks.slice();
    K.push(f1);
    return { ks, K, stage: space.buffer(y0), y1: space.buffer(y0), err: space.buffer(y0), f1 };
  }

  /**
   * Advances (t, y) by h, with `work.ks[0] = f(t, y)`. Leaves y₁ in `work.y1` and the stages in
   * `work.ks`; returns the scaled error norm (0 without an estimate, NaN/∞ if anything is non-finite),
   * as a read where the space's values live on a device (the loop's driver answers it).
   */
  step<Y>(
    space: StateSpace<Y>,
    f: VectorField<Y>,
    t: number,
    y: Y,
    h: number,
    work: RKWork<Y>,
    tol: Tolerance | null,
    fn: string,
  ): Read<number> {
    const { a, b, c, e, stages: s, fsal } = this.tableau;
    const ks = work.ks;
    const t1 = t + h;
    for (let i = 1; i < s; i++) {
      let input: Y;
      if (fsal && i === s - 1) {
        // The last row of A equals b: the last stage is evaluated at y₁ itself.
        input = work.y1 = space.lincomb(work.y1, y, h, b, ks, s - 1);
      } else {
        input = work.stage = space.lincomb(work.stage, y, h, a[i]!, ks, i);
      }
      ks[i] = space.evaluate(f, c[i] === 1 ? t1 : t + c[i]! * h, input, ks[i]!, fn);
    }
    if (!fsal) work.y1 = space.lincomb(work.y1, y, h, b, ks, s);
    if (e === undefined || tol === null) return finiteRatio(finiteOf(space, work.y1));
    work.err = space.lincomb(work.err, null, h, e, ks, s);
    return errorNormOf(space, work.err, y, work.y1, tol);
  }

  /**
   * The step function for one solve: the space's fused step where it has one, else
   * {@link RungeKutta.step} bound to this solve's buffers.
   */
  stepper<Y>(space: StateSpace<Y>, f: VectorField<Y>, work: RKWork<Y>, tol: Tolerance | null, fn: string): Stepper<Y> {
    const fused = space.fusedStepper?.(this.tableau, f, work, tol, fn);
    if (fused) return fused;
    return (t, y, h) => this.step(space, f, t, y, h, work, tol, fn);
  }

}

/** A fixed step's ratio from its finiteness check: 0, or NaN (a failed step). */
function finiteRatio(ok: Read<boolean>): Read<number> {
  if (typeof ok === 'boolean') return ok ? 0 : NaN;
  const { tensor, finish, skipped } = ok;
  return { tensor, finish: (v) => (finish(v) ? 0 : NaN), skipped: skipped === undefined ? undefined : skipped ? 0 : NaN };
}

/** Forward Euler (order 1, fixed step). */
export class Euler extends RungeKutta {
  constructor() {
    super(euler);
  }
}
/** Explicit midpoint (order 2, fixed step). */
export class Midpoint extends RungeKutta {
  constructor() {
    super(midpoint);
  }
}
/** Heun / explicit trapezoid (order 2, fixed step). */
export class Heun extends RungeKutta {
  constructor() {
    super(heun);
  }
}
/** Classic RK4 (order 4, fixed step). */
export class RK4 extends RungeKutta {
  constructor() {
    super(rk4);
  }
}
/** Bogacki–Shampine 3(2), adaptive. */
export class Bosh3 extends RungeKutta {
  constructor() {
    super(bosh3);
  }
}
/** Dormand–Prince 5(4), adaptive, 4th-order dense output. The default. */
export class Dopri5 extends RungeKutta {
  constructor() {
    super(dopri5);
  }
}
/** Tsitouras 5(4), adaptive, 4th-order dense output. */
export class Tsit5 extends RungeKutta {
  constructor() {
    super(tsit5);
  }
}
/** Dormand–Prince 8(7), adaptive, for tight tolerances. */
export class Dopri8 extends RungeKutta {
  constructor() {
    super(dopri8);
  }
}

/** The explicit Runge–Kutta solver for a method name; other names raise an error listing the valid ones. */
export function solverFor(method: string, fn: string): RungeKutta {
  if (!Object.prototype.hasOwnProperty.call(TABLEAUX, method)) {
    throw new InvalidArgumentError(fn, 'method', method, `is not a known method, got {value}. Use one of: ${RK_METHOD_NAMES.join(', ')}.`);
  }
  return new RungeKutta(TABLEAUX[method as RKMethodName]);
}
