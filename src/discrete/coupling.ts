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
import { InvalidArgumentError } from '../errors.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions } from '../flows/bijector.js';
import { MLP } from '../nn/mlp.js';
import type { ActivationName } from '../nn/activations.js';
import { fusedCoupling } from './coupling-kernel.js';
import { fusedOpsAvailable } from './fused-op.js';
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
  /** Width of the context c the conditioner also reads, as [x_A, c] (default 0: unconditional). */
  contextDim?: number;
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
  readonly contextDim: number;

  protected constructor(
    private readonly kind: string,
    private readonly options: CouplingOptions,
    perComponent: number,
  ) {
    const { dim, parity, hidden = [64, 64], activation = 'relu', seed = 0, contextDim = 0 } = options;
    if (!Number.isSafeInteger(contextDim) || contextDim < 0) throw new InvalidArgumentError(kind, 'contextDim', contextDim, 'must be an integer ≥ 0, got {value}.');
    this.dim = dim;
    this.fused = options.fused ?? true;
    this.contextDim = contextDim;
    this.split = new Split(dim, parity);
    try {
      // PyTorch's initialisation (random biases): with zero biases a conditioner of the few inputs
      // x_A (one in 2-D) starts with every ReLU kink at 0 and trained 0.05–0.07 nats worse on moons.
      this.net = new MLP(this.split.a.length + contextDim, hidden, this.split.b.length * perComponent, { activation, seed, init: 'fan-in' });
    } catch (e) {
      this.split.dispose(); // a conditioner that cannot be built (bad options, too large) leaves nothing behind
      throw e;
    }
  }

  abstract forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult;
  abstract inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult;

  /**
   * What the conditioner reads: x_A, or [x_A, c] for a conditional block (the one place a
   * coupling meets its context). The Flow has checked and broadcast c; called directly, a
   * conditional block still refuses a missing or misshapen one.
   */
  protected conditionerInput(xa: tf.Tensor2D, options?: PassOptions): tf.Tensor2D {
    return withContext(this.kind, this.contextDim, xa, options);
  }

  /**
   * The forward pass as one fused kernel, or null where it does not run (option off, another backend).
   * @internal
   */
  protected fusedForward(x: tf.Tensor2D, options: PassOptions | undefined, transform: FusedTransform, { scaleBound = 0, bins = 0, bound = 0 } = {}): BijectorResult | null {
    if (!this.fused || !fusedOpsAvailable()) return null;
    const cond = this.conditionerInput(this.split.conditioning(x), options);
    const { y, logDet } = fusedCoupling(x, cond, this.net.variables, { transform, idx: this.split.b, activation: this.options.activation ?? 'relu', scaleBound, bins, bound });
    return { y, logDet };
  }

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

/**
 * A conditioner's input: v, or [v, c] for a block of context width `contextDim` > 0, refusing a
 * missing or misshapen c (one row per row of v) with an error naming `kind`.
 * @internal
 */
export function withContext(kind: string, contextDim: number, v: tf.Tensor2D, options?: PassOptions): tf.Tensor2D {
  if (contextDim === 0) return v;
  const c = options?.context;
  if (!(c instanceof tf.Tensor) || c.rank !== 2 || c.shape[1] !== contextDim || c.shape[0] !== v.shape[0]) {
    throw new InvalidArgumentError(kind, 'context', c instanceof tf.Tensor ? c.shape : c, `must be [${v.shape[0]}, ${contextDim}] rows (one per input row), got {value}.`);
  }
  return tf.concat([v, c], 1);
}

/** The affine transforms' log-scale s = c·tanh(raw / c), bounded by c for numerical safety. @internal */
export const boundedLogScale = (raw: tf.Tensor, c: number): tf.Tensor => tf.mul(c, tf.tanh(tf.div(raw, c)));

/** NICE's additive coupling y_B = x_B + m(x_A), volume-preserving (Dinh et al., arXiv:1410.8516). */
export class AdditiveCoupling extends Coupling {
  constructor(options: CouplingOptions) {
    super('additive-coupling', options, 1);
  }

  /** Maps data → latent; returns log|det ∂y/∂x| per row. */
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    return tf.tidy(() => {
      const fused = this.fusedForward(x, options, 'additive');
      if (fused) return { y: fused.y, logDet: fused.logDet };
      const [xa, xb] = this.split.parts(x);
      return { y: this.split.join(xa, tf.add(xb, this.net.apply(this.conditionerInput(xa, options)))), logDet: tf.zeros([x.shape[0]]) as tf.Tensor1D };
    });
  }

  /** Maps latent → data; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    return tf.tidy(() => {
      const [ya, yb] = this.split.parts(y);
      return { x: this.split.join(ya, tf.sub(yb, this.net.apply(this.conditionerInput(ya, options)))), logDet: tf.zeros([y.shape[0]]) as tf.Tensor1D };
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

  /** (s, t) from the conditioner's input ([x_A] or [x_A, c]). */
  private scaleShift(input: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const out = this.net.apply(input);
    const nb = this.split.b.length;
    const raw = tf.slice(out, [0, 0], [-1, nb]);
    return [boundedLogScale(raw, this.scaleBound) as tf.Tensor2D, tf.slice(out, [0, nb], [-1, nb])];
  }

  /** Maps data → latent; returns log|det ∂y/∂x| per row. */
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    return tf.tidy(() => {
      const fused = this.fusedForward(x, options, 'affine', { scaleBound: this.scaleBound });
      if (fused) return { y: fused.y, logDet: fused.logDet };
      const [xa, xb] = this.split.parts(x);
      const [s, t] = this.scaleShift(this.conditionerInput(xa, options));
      return { y: this.split.join(xa, tf.add(tf.mul(xb, tf.exp(s)), t)), logDet: tf.sum(s, 1) as tf.Tensor1D };
    });
  }

  /** Maps latent → data; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    return tf.tidy(() => {
      const [ya, yb] = this.split.parts(y);
      const [s, t] = this.scaleShift(this.conditionerInput(ya, options));
      return { x: this.split.join(ya, tf.mul(tf.sub(yb, t), tf.exp(tf.neg(s)))), logDet: tf.neg(tf.sum(s, 1)) as tf.Tensor1D };
    });
  }

}
