/**
 * Classic stiff test problems (Hairer, Wanner, Solving ODEs II, §IV.1 and §IV.10; Mazzia,
 * Magherini, "Test Set for IVP Solvers", release 2.4), with their Jacobians, for the stiff methods'
 * tests and work-precision benchmarks. Each field writes into its third argument.
 */
import type { Problem } from './problems.js';

/** A stiff test problem: a {@link Problem} with its analytic Jacobian (row-major n×n). */
export interface StiffProblem extends Problem {
  /** ∂f/∂y at (t, y), written into J (row-major n×n, zeroed by the caller). */
  readonly jac: (t: number, y: Float64Array, J: Float64Array) => void;
}

/** Robertson's chemical kinetics (3 species; rate constants 0.04, 10⁴, 3·10⁷), on [0, 10⁵]. */
export const ROBERTSON: StiffProblem = {
  name: 'Robertson',
  f: (_t, y, dy) => {
    const a = 0.04 * y[0]!;
    const b = 1e4 * y[1]! * y[2]!;
    const c = 3e7 * y[1]! * y[1]!;
    dy[0] = -a + b;
    dy[1] = a - b - c;
    dy[2] = c;
  },
  jac: (_t, y, J) => {
    J[0] = -0.04;
    J[1] = 1e4 * y[2]!;
    J[2] = 1e4 * y[1]!;
    J[3] = 0.04;
    J[4] = -1e4 * y[2]! - 6e7 * y[1]!;
    J[5] = -1e4 * y[1]!;
    J[7] = 6e7 * y[1]!;
  },
  y0: Float64Array.of(1, 0, 0),
  t1: 1e5,
};

/** HIRES: the 8-species "High Irradiance RESponse" of photomorphogenesis (Schäfer 1975), on [0, 321.8122]. */
export const HIRES: StiffProblem = {
  name: 'HIRES',
  f: (_t, y, dy) => {
    const r = 280 * y[5]! * y[7]!;
    dy[0] = -1.71 * y[0]! + 0.43 * y[1]! + 8.32 * y[2]! + 0.0007;
    dy[1] = 1.71 * y[0]! - 8.75 * y[1]!;
    dy[2] = -10.03 * y[2]! + 0.43 * y[3]! + 0.035 * y[4]!;
    dy[3] = 8.32 * y[1]! + 1.71 * y[2]! - 1.12 * y[3]!;
    dy[4] = -1.745 * y[4]! + 0.43 * y[5]! + 0.43 * y[6]!;
    dy[5] = -r + 0.69 * y[3]! + 1.71 * y[4]! - 0.43 * y[5]! + 0.69 * y[6]!;
    dy[6] = r - 1.81 * y[6]!;
    dy[7] = -r + 1.81 * y[6]!;
  },
  jac: (_t, y, J) => {
    const set = (i: number, j: number, v: number): void => void (J[i * 8 + j] = v);
    set(0, 0, -1.71); set(0, 1, 0.43); set(0, 2, 8.32);
    set(1, 0, 1.71); set(1, 1, -8.75);
    set(2, 2, -10.03); set(2, 3, 0.43); set(2, 4, 0.035);
    set(3, 1, 8.32); set(3, 2, 1.71); set(3, 3, -1.12);
    set(4, 4, -1.745); set(4, 5, 0.43); set(4, 6, 0.43);
    set(5, 3, 0.69); set(5, 4, 1.71); set(5, 5, -280 * y[7]! - 0.43); set(5, 6, 0.69); set(5, 7, -280 * y[5]!);
    set(6, 5, 280 * y[7]!); set(6, 6, -1.81); set(6, 7, 280 * y[5]!);
    set(7, 5, -280 * y[7]!); set(7, 6, 1.81); set(7, 7, -280 * y[5]!);
  },
  y0: Float64Array.of(1, 0, 0, 0, 0, 0, 0, 0.0057),
  t1: 321.8122,
};

/** OREGO: the Oregonator model of the Belousov–Zhabotinskii reaction (Field, Noyes 1974), on [0, 360]. */
export const OREGO: StiffProblem = {
  name: 'OREGO',
  f: (_t, y, dy) => {
    dy[0] = 77.27 * (y[1]! + y[0]! * (1 - 8.375e-6 * y[0]! - y[1]!));
    dy[1] = (y[2]! - (1 + y[0]!) * y[1]!) / 77.27;
    dy[2] = 0.161 * (y[0]! - y[2]!);
  },
  jac: (_t, y, J) => {
    J[0] = 77.27 * (1 - 2 * 8.375e-6 * y[0]! - y[1]!);
    J[1] = 77.27 * (1 - y[0]!);
    J[3] = -y[1]! / 77.27;
    J[4] = -(1 + y[0]!) / 77.27;
    J[5] = 1 / 77.27;
    J[6] = 0.161;
    J[8] = -0.161;
  },
  y0: Float64Array.of(1, 2, 3),
  t1: 360,
};

const MU = 1000;

/** Van der Pol's relaxation oscillator with μ = 1000 (MATLAB's vdp1000), on [0, 3000]. */
export const VAN_DER_POL_STIFF: StiffProblem = {
  name: 'Van der Pol (μ = 1000)',
  f: (_t, y, dy) => {
    dy[0] = y[1]!;
    dy[1] = MU * (1 - y[0]! * y[0]!) * y[1]! - y[0]!;
  },
  jac: (_t, y, J) => {
    J[0] = 0;
    J[1] = 1;
    J[2] = -2 * MU * y[0]! * y[1]! - 1;
    J[3] = MU * (1 - y[0]! * y[0]!);
  },
  y0: Float64Array.of(2, 0),
  t1: 3000,
};

const LAMBDA = 1e6;

/**
 * y′ = −10⁶(y − cos t), y(0) = 0, on [0, 10]: after a 10⁻⁶-long transient y follows cos t, and an
 * explicit method's step stays pinned near 3/10⁶ by stability. Exact solution {@link relaxationExact}.
 */
export const RELAXATION: StiffProblem = {
  name: 'y′ = −10⁶(y − cos t)',
  f: (t, y, dy) => {
    dy[0] = -LAMBDA * (y[0]! - Math.cos(t));
  },
  jac: (_t, _y, J) => {
    J[0] = -LAMBDA;
  },
  y0: Float64Array.of(0),
  t1: 10,
};

/**
 * The exact solution of {@link RELAXATION}: (λ² cos t + λ sin t − λ² e^{−λt}) / (λ² + 1).
 *
 * @example
 * ```ts
 * import { odeint, RELAXATION, relaxationExact } from 'biflow';
 * const sol = odeint(RELAXATION.f, RELAXATION.y0, [0, RELAXATION.t1], { method: 'rodas5', rtol: 1e-8, atol: 1e-10 });
 * Math.abs(sol.ys[1]![0]! - relaxationExact(RELAXATION.t1));   // ≈ 1e-10
 * ```
 */
export function relaxationExact(t: number): number {
  const l2 = LAMBDA * LAMBDA;
  return (l2 * Math.cos(t) + LAMBDA * Math.sin(t) - l2 * Math.exp(-LAMBDA * t)) / (l2 + 1);
}

/** The stiff test problems used by the benchmarks and tolerance studies. */
export const STIFF_PROBLEMS: readonly StiffProblem[] = [ROBERTSON, HIRES, OREGO, VAN_DER_POL_STIFF];
