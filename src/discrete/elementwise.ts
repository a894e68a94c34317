/**
 * Element-wise layers: NICE's diagonal scaling, Glow's ActNorm, and fixed permutations.
 *
 * ActNorm (Kingma & Dhariwal, "Glow", arXiv:1807.03039): y = (x + b)·exp(log s) with b and
 * log s set from the first batch so that y has zero mean and unit variance per component.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult } from '../flows/bijector.js';
import { fusedOpsAvailable } from './fused-op.js';
import { fusedActNorm, fusedDiagonalScaling } from './linear-kernel.js';
import { selection } from './masks.js';
import { rng } from '../data/random.js';

/** y = x·exp(s) with learnable s (NICE's last layer); log-det Σ s. */
export class DiagonalScaling implements Bijector {
  readonly logScale: tf.Variable;
  /** Whether the forward pass runs as one fused kernel where the backend has it (wasm, cpu; default true); false tapes the engine ops. */
  fused = true;
  /** The fused kernel's zero shift (it is ActNorm's): one kernel forward and one backward where the taped path ran a dozen. */
  private readonly zeroShift: tf.Tensor1D;

  constructor(readonly dim: number) {
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim])));
    this.zeroShift = tf.tidy(() => tf.keep(tf.zeros([dim])));
  }

  forward(x: tf.Tensor2D): BijectorResult {
    if (this.fused && fusedOpsAvailable()) return fusedDiagonalScaling(x, this.zeroShift, this.logScale as tf.Tensor1D);
    return tf.tidy(() => ({ y: tf.mul(x, tf.exp(this.logScale)) as tf.Tensor2D, logDet: tf.add(tf.fill([x.shape[0]], 0), tf.sum(this.logScale)) as tf.Tensor1D }));
  }

  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => ({ x: tf.mul(y, tf.exp(tf.neg(this.logScale))) as tf.Tensor2D, logDet: tf.sub(tf.fill([y.shape[0]], 0), tf.sum(this.logScale)) as tf.Tensor1D }));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.logScale];
  }

  getConfig(): BijectorConfig {
    return { kind: 'diagonal-scaling', dim: this.dim };
  }

  dispose(): void {
    tf.dispose([this.logScale, this.zeroShift]);
  }
}

/** Glow's activation normalisation, y = (x + b)·exp(log s), initialised from the first batch to zero mean and unit variance (Kingma & Dhariwal, arXiv:1807.03039). */
export class ActNorm implements Bijector {
  readonly bias: tf.Variable;
  readonly logScale: tf.Variable;
  /** Whether the data-dependent initialisation has run (it runs once, on the first batch). */
  initialized = false;
  /** Whether the forward pass runs as one fused kernel where the backend has it (wasm, cpu; default true); false tapes the engine ops. */
  fused = true;

  constructor(readonly dim: number) {
    this.bias = tf.tidy(() => tf.variable(tf.zeros([dim])));
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim])));
  }

  initialize(x: tf.Tensor2D): void {
    if (this.initialized) return;
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, 0);
      this.bias.assign(tf.neg(mean));
      this.logScale.assign(tf.neg(tf.mul(0.5, tf.log(tf.add(variance, 1e-6)))));
    });
    this.initialized = true;
  }

  forward(x: tf.Tensor2D): BijectorResult {
    if (this.fused && fusedOpsAvailable()) return fusedActNorm(x, this.bias as tf.Tensor1D, this.logScale as tf.Tensor1D);
    return tf.tidy(() => ({
      y: tf.mul(tf.add(x, this.bias), tf.exp(this.logScale)) as tf.Tensor2D,
      logDet: tf.add(tf.zeros([x.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D,
    }));
  }

  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => ({
      x: tf.sub(tf.mul(y, tf.exp(tf.neg(this.logScale))), this.bias) as tf.Tensor2D,
      logDet: tf.sub(tf.zeros([y.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D,
    }));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.bias, this.logScale];
  }

  getConfig(): BijectorConfig {
    return { kind: 'actnorm', dim: this.dim, initialized: this.initialized };
  }

  dispose(): void {
    tf.dispose([this.bias, this.logScale]);
  }
}

/** A fixed permutation of the components: 'reverse', or a seeded random one. */
export class Permutation implements Bijector {
  readonly perm: number[];
  /** y = x · Sᵀ = x[:, perm]; x = y · S (matMul: gather has no gradient on wasm). */
  private readonly select: tf.Tensor2D;

  constructor(
    readonly dim: number,
    readonly order: 'reverse' | { seed: number } | number[] = 'reverse',
  ) {
    if (Array.isArray(order)) {
      const sorted = [...order].sort((p, q) => p - q);
      if (order.length !== dim || sorted.some((v, i) => v !== i)) throw new InvalidArgumentError('Permutation', 'order', order, `must be a permutation of 0…${dim - 1}, got {value}.`);
      this.perm = [...order];
    } else if (order === 'reverse') {
      this.perm = Array.from({ length: dim }, (_, i) => dim - 1 - i);
    } else {
      const r = rng(`permutation:${order.seed}`);
      this.perm = Array.from({ length: dim }, (_, i) => i);
      for (let i = dim - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [this.perm[i], this.perm[j]] = [this.perm[j]!, this.perm[i]!];
      }
    }
    this.select = tf.keep(selection(this.perm, dim));
  }

  forward(x: tf.Tensor2D): BijectorResult {
    return tf.tidy(() => ({ y: tf.matMul(x, this.select, false, true) as tf.Tensor2D, logDet: tf.zeros([x.shape[0]]) as tf.Tensor1D }));
  }

  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => ({ x: tf.matMul(y, this.select) as tf.Tensor2D, logDet: tf.zeros([y.shape[0]]) as tf.Tensor1D }));
  }

  readonly trainableVariables: tf.Variable[] = [];

  getConfig(): BijectorConfig {
    return { kind: 'permutation', dim: this.dim, order: this.perm };
  }

  dispose(): void {
    this.select.dispose();
  }
}
