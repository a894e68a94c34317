/**
 * Two-dimensional model energies u(x) for Boltzmann sampling, p(x) ∝ exp(−u(x)/kT): each as a
 * function of a `[N, 2]` tensor (for flows and samplers) and of two float64 numbers (for
 * quadrature and finite-difference checks), with the partition of the plane into its two wells.
 *
 * References: Noé, Olsson, Köhler, Wu, "Boltzmann generators: Sampling equilibrium states of
 * many-body systems with deep learning", Science 365 (2019), arXiv:1812.01729 (the double well);
 * Müller, Brown, "Location of saddle points and minimum energy paths by a constrained simplex
 * optimization procedure", Theoret. Chim. Acta 53 (1979).
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';

/** A 2-D model energy with its float64 twin, its two states and the box the examples use. */
export interface Potential {
  readonly name: string;
  /** Energies of the rows of x: `[N, 2]` → `[N]`. */
  energy(x: tf.Tensor2D): tf.Tensor1D;
  /** The same energy in float64. */
  energy64(x: number, y: number): number;
  /** Which well a point belongs to: 0 (state A) or 1 (state B). */
  state(x: number, y: number): 0 | 1;
  /** A plotting/quadrature box [xmin, xmax, ymin, ymax] holding all but a negligible mass at `kT`. */
  readonly extent: [number, number, number, number];
  /** The temperature the examples use. */
  readonly kT: number;
}

function columns(fn: string, x: tf.Tensor2D): [tf.Tensor1D, tf.Tensor1D] {
  if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== 2) throw new InvalidArgumentError(fn, 'x', x instanceof tf.Tensor ? x.shape : x, 'must be a [N, 2] tensor, got {value}.');
  const [a, b] = tf.split(x, 2, 1);
  return [tf.reshape(a!, [-1]) as tf.Tensor1D, tf.reshape(b!, [-1]) as tf.Tensor1D];
}

/** Noé et al.'s double well: u = ¼a x⁴ − ½b x² + c x + ½d y² with a = 1, b = 6, c = 1, d = 1. */
export const DOUBLE_WELL: Potential = {
  name: 'double well',
  energy: (x) => tf.tidy(() => {
    const [u, v] = columns('DOUBLE_WELL.energy', x);
    const u2 = tf.square(u);
    return tf.addN([tf.mul(0.25, tf.square(u2)), tf.mul(-3, u2), u, tf.mul(0.5, tf.square(v))]) as tf.Tensor1D;
  }),
  energy64: (x, y) => 0.25 * x ** 4 - 3 * x * x + x + 0.5 * y * y,
  // The barrier top is at x = 0.167449 (the root of x³ − 6x + 1 between the wells).
  state: (x) => (x < 0.167449 ? 0 : 1),
  extent: [-4, 4, -4, 4],
  kT: 1,
};

const MB = {
  A: [-200, -100, -170, 15], a: [-1, -1, -6.5, 0.7], b: [0, 0, 11, 0.6], c: [-10, -10, -6.5, 0.7],
  x0: [1, 0, -0.5, -1], y0: [0, 0.5, 1.5, 1],
};
/** The Müller–Brown minima A (deepest) and B; the third, shallow one lies on B's side. */
const MB_MIN_A = [-0.558224, 1.441726];
const MB_MIN_B = [0.623499, 0.028038];
/** Exponents are capped here so that energies far from the minima stay finite (e^40 ≈ 2e17). */
const MB_CAP = 40;

/**
 * The Müller–Brown potential u = Σₖ Aₖ exp(aₖ(x−x₀ₖ)² + bₖ(x−x₀ₖ)(y−y₀ₖ) + cₖ(y−y₀ₖ)²) (exponents
 * capped at 40 far from the minima). States: closer to minimum A (−0.558, 1.442) or to B (0.623, 0.028).
 */
export const MUELLER_BROWN: Potential = {
  name: 'Müller–Brown',
  energy: (x) => tf.tidy(() => {
    const [u, v] = columns('MUELLER_BROWN.energy', x);
    const terms = MB.A.map((A, k) => {
      const dx = tf.sub(u, MB.x0[k]!);
      const dy = tf.sub(v, MB.y0[k]!);
      const e = tf.addN([tf.mul(MB.a[k]!, tf.square(dx)), tf.mul(MB.b[k]!, tf.mul(dx, dy)), tf.mul(MB.c[k]!, tf.square(dy))]);
      return tf.mul(A, tf.exp(tf.minimum(e, MB_CAP)));
    });
    return tf.addN(terms) as tf.Tensor1D;
  }),
  energy64: (x, y) => {
    let s = 0;
    for (let k = 0; k < 4; k++) {
      const dx = x - MB.x0[k]!;
      const dy = y - MB.y0[k]!;
      s += MB.A[k]! * Math.exp(Math.min(MB_CAP, MB.a[k]! * dx * dx + MB.b[k]! * dx * dy + MB.c[k]! * dy * dy));
    }
    return s;
  },
  state: (x, y) => (Math.hypot(x - MB_MIN_A[0]!, y - MB_MIN_A[1]!) <= Math.hypot(x - MB_MIN_B[0]!, y - MB_MIN_B[1]!) ? 0 : 1),
  extent: [-1.8, 1.3, -0.6, 2.2],
  kT: 15,
};

/** The potentials by the names the Boltzmann example takes (`--potential`). */
export const POTENTIALS = { 'double-well': DOUBLE_WELL, 'mueller-brown': MUELLER_BROWN } as const;

/**
 * ∇u at the rows of x, `[N, 2]` (the tfjs gradient of Σ u).
 *
 * @example
 * ```ts
 * import { tf, energyGrad, DOUBLE_WELL } from 'biflow';
 *
 * const x = tf.tensor2d([[1, 0], [-1, 0.5]]);
 * energyGrad((y) => DOUBLE_WELL.energy(y), x);   // [2, 2]: ∇u at each row
 * ```
 */
export function energyGrad(energy: (x: tf.Tensor2D) => tf.Tensor1D, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.grad((y: tf.Tensor) => tf.sum(energy(y as tf.Tensor2D)))(x) as tf.Tensor2D);
}

/**
 * Noé et al.'s regularised energy for training: u itself up to `high`, then high + log(1 + u − high),
 * so that early samples far out do not blow the loss up.
 *
 * @example
 * ```ts
 * import { tf, regularizeEnergy } from 'biflow';
 *
 * regularizeEnergy(tf.tensor1d([5, 1e3, 1e6]), 1e3);   // [5, 1000, 1000 + log(1 + 999000)]
 * ```
 */
export function regularizeEnergy(u: tf.Tensor1D, high = 1e3): tf.Tensor1D {
  return tf.tidy(() => {
    const over = tf.relu(tf.sub(u, high));
    return tf.sub(u, tf.sub(over, tf.log1p(over))) as tf.Tensor1D;
  });
}
