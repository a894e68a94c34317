/**
 * Training a sampler to a Boltzmann distribution p(x) ∝ exp(−u(x)/kT) from the energy alone: the
 * reverse Kullback–Leibler loss
 *   KL(q‖p) + log Z = E_{z ~ N(0, I)} [ u(x)/kT + log q(x) ],   x = the flow's inverse of z,
 * which needs samples of q and their log-density, nothing from p. The model is anything with
 * `sampleAndLogProb` (a biflow `Flow`), so this layer needs no flow classes.
 *
 * Reference: Noé, Olsson, Köhler, Wu, "Boltzmann generators", Science 365 (2019), arXiv:1812.01729.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import { regularizeEnergy } from './potentials.js';

/** Anything that draws samples with their log-density in one pass (a biflow `Flow`). */
export interface Sampler {
  /** n samples `[n, dim]` and their log-density `[n]`, differentiable in the model's parameters. */
  sampleAndLogProb(n: number, opts?: { seed?: number }): { x: tf.Tensor2D; logProb: tf.Tensor1D };
}

/**
 * The reverse-KL loss on `n` fresh samples (seeded): mean of u_reg(x)/kT + log q(x), where u_reg is
 * {@link regularizeEnergy} above `high`·kT. It equals −log Z when q is exactly p.
 *
 * @example
 * ```ts
 * import { tf, createFlow, reverseKL, DOUBLE_WELL } from 'biflow';
 *
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * const opt = tf.train.adam(1e-3);
 * opt.minimize(() => reverseKL(flow, (x) => DOUBLE_WELL.energy(x), { n: 256, kT: DOUBLE_WELL.kT, seed: 0 }));   // one training step of a Boltzmann generator
 * ```
 */
export function reverseKL(model: Sampler, energy: (x: tf.Tensor2D) => tf.Tensor1D, { n, kT = 1, seed, high = 1e3 }: { n: number; kT?: number; seed?: number; high?: number }): tf.Scalar {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('reverseKL', 'n', n, 'must be a positive integer number of samples, got {value}.');
  if (!(kT > 0)) throw new InvalidArgumentError('reverseKL', 'kT', kT, 'must be a positive temperature, got {value}.');
  return tf.tidy(() => {
    const { x, logProb } = model.sampleAndLogProb(n, { seed });
    return tf.mean(tf.add(tf.div(regularizeEnergy(energy(x), high * kT), kT), logProb)) as tf.Scalar;
  });
}
