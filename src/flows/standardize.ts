/**
 * Standardisation as part of the model (what sbi does by default): a fixed affine map
 * u = (v − μ)/σ whose statistics are fitted once from training data. For x it is a block with its
 * log-det (−Σ log σ), so log q stays a density of the data in its own units; for the context it
 * is an input transform (no log-det: c is conditioned on, not modelled). Until fitted it is the
 * identity, so an untrained flow behaves as without it.
 */
import { tf } from '../backend/engine.js';
import { readValues } from '../backend/reads.js';
import { standardization } from '../data/tabular.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult } from './bijector.js';

/** Fitted statistics of a standardisation, as saved with the model. */
export interface StandardizationState {
  mean: number[];
  std: number[];
}

/** u = (v − μ)/σ per column, μ and σ fitted once (float64 sums; a constant column keeps σ = 1). */
export class AffineStandardizer {
  /** Whether the statistics have been fitted (fit runs once; identity before). */
  fitted = false;
  private mean: tf.Tensor1D;
  private std: tf.Tensor1D;
  /** Σ log σ, kept on the host: the log-det is a constant, no need to read it per pass. */
  private logScale = 0;
  /** The statistics on the host too, so that saving reads nothing from the device. */
  private host: StandardizationState;

  constructor(readonly dim: number) {
    if (!Number.isSafeInteger(dim) || dim < 1) throw new InvalidArgumentError('AffineStandardizer', 'dim', dim, 'must be a positive integer, got {value}.');
    this.mean = tf.keep(tf.zeros([dim]));
    this.std = tf.keep(tf.ones([dim]));
    this.host = { mean: new Array<number>(dim).fill(0), std: new Array<number>(dim).fill(1) };
  }

  /** Fits μ and σ to the rows of `v` once; later calls are no-ops (as ActNorm's initialisation). */
  fit(v: tf.Tensor2D): void {
    if (this.fitted) return;
    // readValues: answered from runDeferred's log where reads are asynchronous (WebGPU).
    const s = standardization({ data: Float32Array.from(readValues(tf.clone(v), 'Flow.initialize')), rows: v.shape[0], dim: this.dim });
    this.set({ mean: Array.from(s.mean), std: Array.from(s.std) });
  }

  /** The statistics, for saving. */
  get state(): StandardizationState {
    return { mean: [...this.host.mean], std: [...this.host.std] };
  }

  /** Sets the statistics (a loaded model's); marks them fitted. */
  set(state: StandardizationState): void {
    const ok = (a: unknown) => Array.isArray(a) && a.length === this.dim && a.every(Number.isFinite);
    if (!ok(state?.mean) || !ok(state?.std) || state.std.some((s) => !(s > 0))) {
      throw new InvalidArgumentError('AffineStandardizer.set', 'state', state, `must be { mean, std } of ${this.dim} finite numbers each, std positive, got {value}.`);
    }
    tf.dispose([this.mean, this.std]);
    this.mean = tf.keep(tf.tensor1d(state.mean));
    this.std = tf.keep(tf.tensor1d(state.std));
    this.logScale = state.std.reduce((a, v) => a + Math.log(v), 0);
    this.host = { mean: [...state.mean], std: [...state.std] };
    this.fitted = true;
  }

  /** (v − μ)/σ. */
  apply(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.div(tf.sub(v, this.mean), this.std) as tf.Tensor2D);
  }

  /** v = u·σ + μ. */
  invert(u: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.mul(u, this.std), this.mean) as tf.Tensor2D);
  }

  /** −Σ log σ, the log-det of `apply`, for each of `n` rows. */
  logDet(n: number): tf.Tensor1D {
    return tf.fill([n], -this.logScale) as tf.Tensor1D;
  }

  /** Releases the statistics' tensors. */
  dispose(): void {
    tf.dispose([this.mean, this.std]);
  }
}

/**
 * The data side's standardisation as a block: y = (x − μ)/σ, log-det −Σ log σ; fitted by
 * `initialize` on the first data it sees (training's first batch, or `flow.initialize(rows)` on
 * all the training rows), no trainable variables.
 */
export class Standardize implements Bijector {
  readonly stats: AffineStandardizer;
  readonly trainableVariables: tf.Variable[] = [];

  constructor(readonly dim: number) {
    this.stats = new AffineStandardizer(dim);
  }

  initialize(x: tf.Tensor2D): void {
    this.stats.fit(x);
  }

  forward(x: tf.Tensor2D): BijectorResult {
    return { y: this.stats.apply(x), logDet: this.stats.logDet(x.shape[0]) };
  }

  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => ({ x: this.stats.invert(y), logDet: tf.neg(this.stats.logDet(y.shape[0])) as tf.Tensor1D }));
  }

  getConfig(): BijectorConfig {
    return { kind: 'standardize', dim: this.dim, ...this.stats.state };
  }

  dispose(): void {
    this.stats.dispose();
  }
}
