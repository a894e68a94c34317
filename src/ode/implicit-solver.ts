/**
 * The part the stiff solvers share: a validated method (tableau), an optional user Jacobian, the
 * solver properties the loop reads, and the refusal of non-float64 states. Rosenbrock and ESDIRK
 * add their own workspace and step.
 */
import type { StepInterpolant } from './dense.js';
import { checkFloat64, checkJac } from './implicit.js';
import type { ImplicitOptions, JacobianFn } from './implicit.js';
import { OdeSolver } from './solver-base.js';
import type { StateSpace } from './space.js';

/** What a stiff method's tableau gives its solver. */
export interface ImplicitMethod {
  readonly name: string;
  readonly order: number;
  readonly embeddedOrder: number;
  readonly interpolant: StepInterpolant;
}

/** A stiff (implicit or linearly implicit) solver on float64 states; counts its own evaluations. */
export abstract class ImplicitSolver<M extends ImplicitMethod> extends OdeSolver {
  /** The user's ∂f/∂y, or undefined for finite differences. */
  readonly jac: JacobianFn | undefined;

  constructor(readonly method: M, { jac }: ImplicitOptions = {}) {
    super();
    this.jac = checkJac(jac, method.name);
  }

  get name(): string {
    return this.method.name;
  }
  get order(): number {
    return this.method.order;
  }
  get errorOrder(): number {
    return this.method.embeddedOrder + 1;
  }
  get adaptive(): boolean {
    return true;
  }
  get tableau(): StepInterpolant {
    return this.method.interpolant;
  }
  /** Newton iterations and finite-difference columns vary, so the step counts in `stats` itself. */
  get evaluationsPerStep(): number {
    return 0;
  }

  override checkSpace<Y>(space: StateSpace<Y>, fn: string): void {
    checkFloat64(space, this.name, fn);
  }
}
