/** Base distributions of a flow: the standard normal and a learnable diagonal normal. */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** A base distribution on the latent space of a flow. */
export interface Distribution {
  readonly dim: number;
  /** log density of each row, `[N]`. */
  logProb(z: tf.Tensor2D): tf.Tensor1D;
  /** n samples as [n, dim] (seeded when `seed` is given). */
  sample(n: number, seed?: number): tf.Tensor2D;
  readonly trainableVariables: tf.Variable[];
  /** The JSON description of the distribution. */
  getConfig(): { kind: string; dim: number };
  /** Releases the variables, if any. */
  dispose(): void;
}

/** tfjs treats seed 0 as "no seed"; shift so that every integer seed, 0 included, is reproducible. */
export function tfSeed(seed: number | undefined): number | undefined {
  return seed === undefined ? undefined : seed + 1;
}

function checkCount(fn: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(fn, 'n', n, 'must be a non-negative integer, got {value}.');
}

/** 𝒩(0, I) in `dim` dimensions. */
export class StandardNormal implements Distribution {
  readonly trainableVariables: tf.Variable[] = [];

  constructor(readonly dim: number) {}

  logProb(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.sub(-0.5 * this.dim * LOG_2PI, tf.mul(0.5, tf.sum(tf.square(z), 1))) as tf.Tensor1D);
  }

  sample(n: number, seed?: number): tf.Tensor2D {
    checkCount('StandardNormal.sample', n);
    return tf.randomNormal([n, this.dim], 0, 1, 'float32', tfSeed(seed)) as tf.Tensor2D;
  }

  getConfig() {
    return { kind: 'standard-normal', dim: this.dim };
  }

  dispose(): void {}
}

/** 𝒩(μ, diag σ²) with learnable μ and log σ (initialised to 0 and 0). */
export class DiagNormal implements Distribution {
  readonly loc: tf.Variable;
  readonly logScale: tf.Variable;

  constructor(readonly dim: number) {
    this.loc = tf.tidy(() => tf.variable(tf.zeros([dim])));
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim])));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.loc, this.logScale];
  }

  logProb(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const u = tf.mul(tf.sub(z, this.loc), tf.exp(tf.neg(this.logScale)));
      return tf.sub(tf.sub(-0.5 * this.dim * LOG_2PI, tf.sum(this.logScale)), tf.mul(0.5, tf.sum(tf.square(u), 1))) as tf.Tensor1D;
    });
  }

  sample(n: number, seed?: number): tf.Tensor2D {
    checkCount('DiagNormal.sample', n);
    return tf.tidy(() => tf.add(this.loc, tf.mul(tf.exp(this.logScale), tf.randomNormal([n, this.dim], 0, 1, 'float32', tfSeed(seed)))) as tf.Tensor2D);
  }

  getConfig() {
    return { kind: 'diag-normal', dim: this.dim };
  }

  dispose(): void {
    tf.dispose([this.loc, this.logScale]);
  }
}
