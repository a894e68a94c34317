/**
 * The contract between the generic solve loop and a one-step method. The explicit Runge–Kutta
 * runner and the stiff solvers (Rosenbrock, ESDIRK) implement it; the loop keeps the controller,
 * outputs, events and dense output, and the method only computes a step and its error ratio.
 */
import type { StepInterpolant } from './dense.js';
import type { SolveStats } from './solve.js';
import type { RKWork } from './solver.js';
import type { StateSpace, Stepper, Tolerance, VectorField } from './space.js';

/** A one-step method the solve loop can run; acceptance stays the controller's decision. */
export abstract class OdeSolver {
  abstract get name(): string;
  abstract get order(): number;
  /** Exponent base of the error estimate for the controller (embedded order + 1). */
  abstract get errorOrder(): number;
  abstract get adaptive(): boolean;
  /** Stage layout and dense-output weights the loop interpolates with. */
  abstract get tableau(): StepInterpolant;
  /**
   * Evaluations of f per step that the loop counts itself (s − 1 for explicit RK); methods whose
   * cost varies (Newton iterations, finite-difference Jacobians) return 0 and count in `stats`.
   */
  abstract get evaluationsPerStep(): number;
  /** The buffers one solve reuses at every step (`fn` names the caller in errors about y0). */
  abstract workspace<Y>(space: StateSpace<Y>, y0: Y, fn?: string): RKWork<Y>;
  /** The step function for one solve, bound to its buffers. */
  abstract stepper<Y>(space: StateSpace<Y>, f: VectorField<Y>, work: RKWork<Y>, tol: Tolerance | null, fn: string, stats: SolveStats): Stepper<Y>;
  /** Throws a typed error, before any work, when the method cannot run on `space`. */
  checkSpace<Y>(space: StateSpace<Y>, fn: string): void {
    void space;
    void fn;
  }
}
