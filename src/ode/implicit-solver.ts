/**
 * The part the stiff solvers share: a validated method (tableau), an optional user Jacobian, the
 * solver properties the loop reads, the states they run on (float64, or tensor states through
 * stiff-tensor.ts) and the linear algebra for each. Rosenbrock and ESDIRK add their own workspace
 * and step.
 */
import { InvalidArgumentError } from '../errors.js';
import type { StepInterpolant } from './dense.js';
import { float64Space } from './float64-space.js';
import { IterationMatrix, checkJac } from './implicit.js';
import type { ImplicitOptions, JacobianFn, StiffMatrix } from './implicit.js';
import type { SolveStats } from './solve.js';
import { OdeSolver } from './solver-base.js';
import type { StateSpace, VectorField } from './space.js';
import { TensorIterationMatrix, isTensorSpace, layoutOf } from './stiff-tensor.js';

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
    if (space === (float64Space as unknown)) return;
    if (!isTensorSpace(space)) {
      throw new InvalidArgumentError(fn, 'method', this.name, `{value} runs on float64 states (Float64Array or number arrays) and tensor states ([D] or [B, D]), got a ${space.name} state.`);
    }
    if (this.jac) {
      throw new InvalidArgumentError(fn, 'jac', 'a function', `is for float64 states (it fills a Float64Array); on a ${space.name} state ${this.name} takes J from vector–Jacobian products. Drop jac.`);
    }
  }
}

/** Refuses, before any work, a tensor state the stiff step cannot take (see stiff-tensor.ts). */
export function checkStiffState<Y>(space: StateSpace<Y>, y0: Y, method: string, fn: string): void {
  if (isTensorSpace(space)) layoutOf(y0, method, fn);
}

/** The Jacobian and iteration matrix for one solve; `onTape`: J must reach the gradient (see stiff-tensor.ts). */
export function stiffMatrix<Y>(solver: ImplicitSolver<ImplicitMethod>, space: StateSpace<Y>, f: VectorField<Y>, y0: Y, onTape: boolean, fn: string, stats: SolveStats): StiffMatrix<Y> {
  if (space === (float64Space as unknown)) {
    return new IterationMatrix((y0 as unknown as Float64Array).length, f as unknown as VectorField<Float64Array>, solver.jac, fn, stats) as unknown as StiffMatrix<Y>;
  }
  return new TensorIterationMatrix(space, y0, f, onTape, solver.name, fn, stats);
}
