/**
 * Classic nonstiff test problems (Hairer, Nørsett, Wanner, Solving ODEs I, §II.10), for
 * work-precision studies and solver-tolerance benchmarks. Each vector field writes into its third
 * argument, so a solve allocates nothing per step.
 */

/** A test problem: its vector field (writing into its third argument), initial state and end time. */
export interface Problem {
  readonly name: string;
  /** The vector field, written into `dy`. */
  readonly f: (t: number, y: Float64Array, dy: Float64Array) => void;
  readonly y0: Float64Array;
  readonly t1: number;
}

const MU = 0.012277471;

/**
 * Arenstorf orbit: the restricted three-body problem (Earth, Moon, satellite) in the rotating
 * frame, with a periodic solution of period t1 — so y(t1) = y0 exactly.
 */
export const ARENSTORF: Problem = {
  name: 'Arenstorf',
  f: (_t, y, dy) => {
    const x = y[0]!;
    const yy = y[1]!;
    const mu1 = 1 - MU;
    const d1 = ((x + MU) ** 2 + yy ** 2) ** 1.5;
    const d2 = ((x - mu1) ** 2 + yy ** 2) ** 1.5;
    dy[0] = y[2]!;
    dy[1] = y[3]!;
    dy[2] = x + 2 * y[3]! - (mu1 * (x + MU)) / d1 - (MU * (x - mu1)) / d2;
    dy[3] = yy - 2 * y[2]! - (mu1 * yy) / d1 - (MU * yy) / d2;
  },
  y0: Float64Array.of(0.994, 0, 0, -2.0015851063790824), // −2.00158510637908252240537862224
  t1: 17.065216560157964, // 17.0652165601579625588917206249
};

/** Van der Pol oscillator, μ = 1 (nonstiff). */
export const VAN_DER_POL: Problem = {
  name: 'Van der Pol (μ = 1)',
  f: (_t, y, dy) => {
    dy[0] = y[1]!;
    dy[1] = (1 - y[0]! ** 2) * y[1]! - y[0]!;
  },
  y0: Float64Array.of(2, 0),
  t1: 20,
};

/** Lotka–Volterra predator–prey: x′ = 1.5x − xy, y′ = xy − 3y. */
export const LOTKA_VOLTERRA: Problem = {
  name: 'Lotka–Volterra',
  f: (_t, y, dy) => {
    dy[0] = 1.5 * y[0]! - y[0]! * y[1]!;
    dy[1] = y[0]! * y[1]! - 3 * y[1]!;
  },
  y0: Float64Array.of(10, 5),
  t1: 15,
};

/** Brusselator in two variables with nonstiff parameters A = 1, B = 3 (a limit cycle). */
export const BRUSSELATOR: Problem = {
  name: 'Brusselator',
  f: (_t, y, dy) => {
    const u = y[0]!;
    const v = y[1]!;
    dy[0] = 1 + u * u * v - 4 * u;
    dy[1] = 3 * u - u * u * v;
  },
  y0: Float64Array.of(1.5, 3),
  t1: 20,
};

/** The classic test problems by name. */
export const PROBLEMS: readonly Problem[] = [ARENSTORF, LOTKA_VOLTERRA, VAN_DER_POL, BRUSSELATOR];
