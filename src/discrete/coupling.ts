/**
 * Coupling layers: split x into (x_A, x_B); transform x_B conditioned on x_A; keep x_A.
 *
 * - Additive (NICE): y_B = x_B + m(x_A), log-det 0.
 *   Dinh, Krueger, Bengio, "NICE: Non-linear Independent Components Estimation", arXiv:1410.8516.
 * - Affine (RealNVP): y_B = x_B · exp(s) + t with (s, t) = m(x_A) and s = c·tanh(s_raw / c)
 *   bounded for numerical safety; log-det Σ s.
 *   Dinh, Sohl-Dickstein, Bengio, "Density estimation using Real NVP", arXiv:1605.08803.
 */
import { tf } from '../backend/engine.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult } from '../flows/bijector.js';
import { MLP } from '../nn/mlp.js';
import type { ActivationName } from '../nn/activations.js';
import { fusedCoupling, fusedCouplingAvailable } from './coupling-kernel.js';
import type { FusedTransform } from './coupling-host.js';
import { Split } from './masks.js';
import type { MaskParity } from './masks.js';

/** Options of the coupling layers: dimension, which half is transformed, the conditioner's hidden sizes and activation, and the seed. */
export interface CouplingOptions {
  dim: number;
  parity: MaskParity;
  hidden?: number[];
  activation?: ActivationName | 'relu';
  seed?: number;
  /**
   * Run the forward pass as one fused kernel with a closed-form backward pass (default true, on
   * the wasm and cpu backends); false tapes the engine ops (the reference path).
   */
  fused?: boolean;
}

/**
 * What every coupling shares: the split into (x_A, x_B), a conditioner MLP from x_A to
 * `perComponent` numbers for each component of x_B, the variables, the config and disposal.
 */
export abstract class Coupling implements Bijector {
  readonly dim: number;
  protected readonly split: Split;
  readonly net: MLP;
  /** Whether the forward pass runs as the fused kernel where the backend has it (`options.fused`, default true). */
  fused: boolean;

  protected constructor(
    private readonly kind: string,
    private readonly options: CouplingOptions,
    perComponent: number,
  ) {
    const { dim, parity, hidden = [64, 64], activation = 'relu', seed = 0 } = options;
    this.dim = dim;
    this.fused = options.fused ?? true;
    this.split = new Split(dim, parity);
    try {
      this.net = new MLP(this.split.a.length, hidden, this.split.b.length * perComponent, { activation, seed });
    } catch (e) {
      this.split.dispose(); // a conditioner that cannot be built (bad options, too large) leaves nothing behind
      throw e;
    }
  }

  /**
   * The conditioner's input for the rows x: x_A. Built here only, so that every path (taped,
   * fused) conditions on the same columns.
   */
  protected conditionerInput(x: tf.Tensor2D): tf.Tensor2D {
    return this.split.conditioning(x);
  }

  /**
   * The forward pass as one fused kernel, or null where it does not run (option off, another backend).
   * @internal
   */
  protected fusedForward(x: tf.Tensor2D, transform: FusedTransform, { scaleBound = 0, bins = 0, bound = 0 } = {}): BijectorResult | null {
    if (!this.fused || !fusedCouplingAvailable()) return null;
    const { y, logDet } = fusedCoupling(x, this.conditionerInput(x), this.net.variables, { transform, idx: this.split.b, activation: this.options.activation ?? 'relu', scaleBound, bins, bound });
    return { y, logDet };
  }

  abstract forward(x: tf.Tensor2D): BijectorResult;
  abstract inverse(y: tf.Tensor2D): InverseResult;

  get trainableVariables(): tf.Variable[] {
    return this.net.variables;
  }

  getConfig(): BijectorConfig {
    return { kind: this.kind, ...this.options };
  }

  dispose(): void {
    this.net.dispose();
    this.split.dispose();
  }
}

/** NICE's additive coupling y_B = x_B + m(x_A), volume-preserving (Dinh et al., arXiv:1410.8516). */
export class AdditiveCoupling extends Coupling {
  constructor(options: CouplingOptions) {
    super('additive-coupling', options, 1);
  }

  /** Maps data → latent; returns log|det ∂y/∂x| per row. */
  forward(x: tf.Tensor2D): BijectorResult {
    return tf.tidy(() => {
      const fused = this.fusedForward(x, 'additive');
      if (fused) return { y: fused.y, logDet: fused.logDet };
      const [xa, xb] = this.split.parts(x);
      return { y: this.split.join(xa, tf.add(xb, this.net.apply(xa))), logDet: tf.zeros([x.shape[0]]) as tf.Tensor1D };
    });
  }

  /** Maps latent → data; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => {
      const [ya, yb] = this.split.parts(y);
      return { x: this.split.join(ya, tf.sub(yb, this.net.apply(ya))), logDet: tf.zeros([y.shape[0]]) as tf.Tensor1D };
    });
  }

}

/** RealNVP's affine coupling y_B = x_B·exp(s) + t with bounded s (Dinh et al., arXiv:1605.08803). */
export class AffineCoupling extends Coupling {
  /** Bound c of the log-scale: s = c·tanh(s_raw / c). */
  readonly scaleBound = 3;

  constructor(options: CouplingOptions) {
    super('affine-coupling', options, 2);
  }

  private scaleShift(xa: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const out = this.net.apply(xa);
    const nb = this.split.b.length;
    const raw = tf.slice(out, [0, 0], [-1, nb]);
    const c = this.scaleBound;
    return [tf.mul(c, tf.tanh(tf.div(raw, c))) as tf.Tensor2D, tf.slice(out, [0, nb], [-1, nb])];
  }

  /** Maps data → latent; returns log|det ∂y/∂x| per row. */
  forward(x: tf.Tensor2D): BijectorResult {
    return tf.tidy(() => {
      const fused = this.fusedForward(x, 'affine', { scaleBound: this.scaleBound });
      if (fused) return { y: fused.y, logDet: fused.logDet };
      const [xa, xb] = this.split.parts(x);
      const [s, t] = this.scaleShift(xa);
      return { y: this.split.join(xa, tf.add(tf.mul(xb, tf.exp(s)), t)), logDet: tf.sum(s, 1) as tf.Tensor1D };
    });
  }

  /** Maps latent → data; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => {
      const [ya, yb] = this.split.parts(y);
      const [s, t] = this.scaleShift(ya);
      return { x: this.split.join(ya, tf.mul(tf.sub(yb, t), tf.exp(tf.neg(s)))), logDet: tf.neg(tf.sum(s, 1)) as tf.Tensor1D };
    });
  }

}
