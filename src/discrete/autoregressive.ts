/**
 * Masked autoregressive transform (MAF): every component i is transformed, conditioned on the
 * components before it in an order and on the context, y_i = τ(x_i; θ_i(x_<i, c)), by one masked
 * conditioner (MADE) whose outputs for i see only x_<i and c. The transform τ is affine (bounded
 * log-scale, as the affine coupling) or the rational-quadratic spline (as the spline coupling).
 * Unlike a coupling, one transform changes every coordinate; the first in the order is
 * conditioned on the context alone (a learned constant transform without one).
 * Papamakarios, Pavlakou, Murray, "Masked Autoregressive Flow for Density Estimation", arXiv:1705.07057;
 * Germain, Gregor, Murray, Larochelle, "MADE: Masked Autoencoder for Distribution Estimation", arXiv:1502.03509.
 *
 * Forward (data → latent, the training direction) is one pass, through the fused coupling kernel
 * where the backend has it (its conditioner weights W ⊙ M, all components transformed); the
 * inverse takes D passes (component of rank r is exact after r + 1).
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions } from '../flows/bijector.js';
import { ACTIVATIONS } from '../nn/activations.js';
import type { ActivationName } from '../nn/activations.js';
import { MLP } from '../nn/mlp.js';
import { boundedLogScale, withContext } from './coupling.js';
import { fusedCoupling } from './coupling-kernel.js';
import { fusedOpsAvailable } from './fused-op.js';
import { checkSplineShape, rqSpline } from './spline.js';

/** Options of {@link MaskedAutoregressive}. */
export interface AutoregressiveOptions {
  dim: number;
  /** The univariate transform: 'affine' (shift and bounded log-scale) or 'spline' (rational-quadratic). */
  transform: 'affine' | 'spline';
  /** The autoregressive order: 'ascending' (x₀ first) or 'descending' (default 'ascending'). */
  order?: 'ascending' | 'descending';
  hidden?: number[];
  activation?: ActivationName | 'relu';
  /** Spline bins and bound (defaults 8 and 4). */
  bins?: number;
  bound?: number;
  seed?: number;
  /** The forward pass through the fused kernel where available (default true). */
  fused?: boolean;
  /** Width of the context c every output also reads (default 0). */
  contextDim?: number;
}

/** The affine log-scale's bound c (as the affine coupling's). */
const SCALE_BOUND = 3;

/** A masked autoregressive transform (Papamakarios et al., arXiv:1705.07057) with a MADE conditioner. */
export class MaskedAutoregressive implements Bijector {
  readonly dim: number;
  readonly contextDim: number;
  readonly net: MLP;
  /** Whether the forward pass runs as the fused kernel where the backend has it. */
  fused: boolean;
  private readonly masks: tf.Tensor2D[];
  private readonly perComponent: number;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(private readonly options: AutoregressiveOptions) {
    const fn = 'MaskedAutoregressive';
    const { dim, transform, order = 'ascending', hidden = [64, 64], activation = 'relu', bins = 8, bound = 4, seed = 0, contextDim = 0 } = options;
    if (!Number.isInteger(dim) || dim < 2) throw new InvalidArgumentError(fn, 'dim', dim, 'must be an integer ≥ 2, got {value}.');
    if (transform !== 'affine' && transform !== 'spline') throw new InvalidArgumentError(fn, 'transform', transform, "must be 'affine' or 'spline', got {value}.");
    if (order !== 'ascending' && order !== 'descending') throw new InvalidArgumentError(fn, 'order', order, "must be 'ascending' or 'descending', got {value}.");
    if (!Number.isSafeInteger(contextDim) || contextDim < 0) throw new InvalidArgumentError(fn, 'contextDim', contextDim, 'must be an integer ≥ 0, got {value}.');
    if (transform === 'spline') checkSplineShape(fn, bins, bound);
    this.dim = dim;
    this.contextDim = contextDim;
    this.fused = options.fused ?? true;
    this.perComponent = transform === 'affine' ? 2 : 3 * bins - 1;
    this.net = new MLP(dim + contextDim, hidden, dim * this.perComponent, { activation, seed, init: 'fan-in' });
    this.act = activation === 'relu' ? tf.relu : ACTIVATIONS[activation];
    const rank = Array.from({ length: dim }, (_, i) => (order === 'ascending' ? i : dim - 1 - i));
    // Output column → component: affine [log-scales | shifts], the spline's 3K − 1 per component contiguous.
    const component = (col: number) => (transform === 'affine' ? col % dim : Math.floor(col / this.perComponent));
    this.masks = madeMasks(rank, contextDim, hidden, dim * this.perComponent, component);
  }

  /** The conditioner's weights and biases with the MADE masks applied, layer by layer. */
  private maskedParams(): tf.Tensor[] {
    return this.net.weights.flatMap((W, l) => [tf.mul(W, this.masks[l]!), this.net.biases[l]!]);
  }

  /** The conditioner's raw output at [v, c]: component i's numbers depend on v_<i and c only. */
  private raw(v: tf.Tensor2D, options?: PassOptions): tf.Tensor2D {
    const p = this.maskedParams();
    let h: tf.Tensor = withContext('MaskedAutoregressive', this.contextDim, v, options);
    for (let l = 0; 2 * l < p.length; l++) {
      h = tf.add(tf.matMul(h as tf.Tensor2D, p[2 * l] as tf.Tensor2D), p[2 * l + 1]!);
      if (2 * l + 2 < p.length) h = this.act(h);
    }
    return h as tf.Tensor2D;
  }

  /** τ (or τ⁻¹) of every component of v with the raw numbers o, and the log-det of the map applied. */
  private elementwise(v: tf.Tensor2D, o: tf.Tensor2D, inverse: boolean): { out: tf.Tensor2D; logDet: tf.Tensor1D } {
    const D = this.dim;
    if (this.options.transform === 'affine') {
      const s = boundedLogScale(tf.slice(o, [0, 0], [-1, D]), SCALE_BOUND);
      const t = tf.slice(o, [0, D], [-1, D]);
      const out = inverse ? tf.mul(tf.sub(v, t), tf.exp(tf.neg(s))) : tf.add(tf.mul(v, tf.exp(s)), t);
      return { out: out as tf.Tensor2D, logDet: tf.mul(inverse ? -1 : 1, tf.sum(s, 1)) as tf.Tensor1D };
    }
    const { bins = 8, bound = 4 } = this.options;
    const { out, logDet } = rqSpline(v, tf.reshape(o, [v.shape[0], D, this.perComponent]), bins, bound, inverse);
    return { out: out as tf.Tensor2D, logDet: logDet as tf.Tensor1D };
  }

  /** Maps data → latent; returns log|det ∂y/∂x| per row (the Jacobian is triangular in the order). */
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    return tf.tidy(() => {
      if (this.fused && fusedOpsAvailable()) {
        const { transform, activation = 'relu', bins = 8, bound = 4 } = this.options;
        const z = withContext('MaskedAutoregressive', this.contextDim, x, options);
        const idx = Array.from({ length: this.dim }, (_, i) => i);
        const { y, logDet } = fusedCoupling(x, z, this.maskedParams(), { transform, idx, activation, scaleBound: SCALE_BOUND, bins: transform === 'spline' ? bins : 0, bound: transform === 'spline' ? bound : 0 });
        return { y, logDet };
      }
      const { out, logDet } = this.elementwise(x, this.raw(x, options), false);
      return { y: out, logDet };
    });
  }

  /** Maps latent → data in D passes; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    return tf.tidy(() => {
      let x = tf.zerosLike(y);
      let logDet = tf.zeros([y.shape[0]]) as tf.Tensor1D;
      // Pass p fixes the component of rank p (its conditioner reads only components fixed before).
      for (let p = 0; p < this.dim; p++) ({ out: x, logDet } = this.elementwise(y, this.raw(x, options), true));
      return { x, logDet };
    });
  }

  get trainableVariables(): tf.Variable[] {
    return this.net.variables;
  }

  getConfig(): BijectorConfig {
    return { kind: 'masked-autoregressive', ...this.options };
  }

  dispose(): void {
    this.net.dispose();
    tf.dispose(this.masks);
  }
}

/**
 * MADE's masks (Germain et al.), as [fan-in, fan-out] 0/1 matrices beside each weight matrix.
 * Degrees: input x_i its rank, context −1; hidden units cycle through −1 (with a context) or 0 up
 * to D − 2; a unit reads the units of degree ≤ its own, and output column j (of the component of
 * rank r) the hidden units of degree < r. So a rank-0 output sees only the context.
 */
function madeMasks(rank: number[], contextDim: number, hidden: readonly number[], outDim: number, component: (col: number) => number): tf.Tensor2D[] {
  const D = rank.length;
  const lo = contextDim > 0 ? -1 : 0;
  const inDeg = [...rank, ...Array.from({ length: contextDim }, () => -1)];
  const hidDeg = hidden.map((H) => Array.from({ length: H }, (_, h) => lo + (h % (D - 1 - lo))));
  const outDeg = Array.from({ length: outDim }, (_, j) => rank[component(j)]!);
  const mask = (from: number[], to: number[], ok: (a: number, b: number) => boolean) => {
    const m = new Float32Array(from.length * to.length);
    from.forEach((a, r) => to.forEach((b, c) => (m[r * to.length + c] = ok(a, b) ? 1 : 0)));
    return tf.keep(tf.tensor2d(m, [from.length, to.length]));
  };
  const degrees = [inDeg, ...hidDeg];
  return [...hidDeg.map((to, l) => mask(degrees[l]!, to, (a, b) => a <= b)), mask(degrees[hidden.length]!, outDeg, (a, b) => a < b)];
}
