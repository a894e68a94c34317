/**
 * Rational-quadratic spline coupling with linear tails (Neural Spline Flows).
 * Durkan, Bekasov, Murray, Papamakarios, "Neural Spline Flows", arXiv:1906.04032.
 *
 * Inside [−B, B] each transformed component goes through a monotone piecewise rational-quadratic
 * map with K bins whose widths, heights and interior knot derivatives come from the conditioner;
 * outside it is the identity (derivative 1 at the boundary knots makes the join smooth), so
 * inputs beyond the bound pass through without error.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { BijectorResult, InverseResult, PassOptions } from '../flows/bijector.js';
import { Coupling } from './coupling.js';
import { exp } from '../nn/activations.js';
import { LOG_SLOPE_BOUND, MIN_BIN } from './spline-host.js';
import type { MaskParity } from './masks.js';

/** Options of {@link SplineCoupling}: coupling options plus the number of bins and the bound B. */
export interface SplineOptions {
  dim: number;
  parity: MaskParity;
  bins?: number;
  bound?: number;
  hidden?: number[];
  seed?: number;
  /** Fused forward kernel (default true; see {@link CouplingOptions}). */
  fused?: boolean;
  /** Width of the context c the conditioner also reads, as [x_A, c] (default 0). */
  contextDim?: number;
}


type T = tf.Tensor;

interface Knots {
  cw: T; // left edges of the bins in x, [N, n, K]
  w: T; // bin widths
  ch: T; // left edges in y
  h: T; // bin heights
  d0: T; // derivative at each bin's left knot
  d1: T; // … and right knot
}

/** Knots of the spline from raw conditioner output [N, n, 3K − 1]. */
function knots(raw: T, K: number, B: number): Knots {
  const [rw, rh, rd] = tf.split(raw, [K, K, K - 1], 2);
  const widths = tf.add(MIN_BIN, tf.mul(1 - MIN_BIN * K, tf.softmax(rw!)));
  const heights = tf.add(MIN_BIN, tf.mul(1 - MIN_BIN * K, tf.softmax(rh!)));
  const edges = (sizes: T) => {
    const cum = tf.cumsum(tf.mul(2 * B, sizes), 2, true); // exclusive: left edge of each bin from 0
    return tf.sub(cum, B);
  };
  // Interior derivatives exp(u / (1 + |u|/A)), spline-host.ts's knotSlope (nn's exp: its gradient
  // recomputed from the input, right to second order); 1 at both ends (the tails have slope 1).
  const inner = exp(tf.div(rd!, tf.add(1, tf.div(tf.abs(rd!), LOG_SLOPE_BOUND))));
  const one = tf.onesLike(tf.slice(widths, [0, 0, 0], [-1, -1, 1]));
  const d = tf.concat([one, inner, one], 2);
  return {
    cw: edges(widths),
    w: tf.mul(2 * B, widths),
    ch: edges(heights),
    h: tf.mul(2 * B, heights),
    d0: tf.slice(d, [0, 0, 0], [-1, -1, K]),
    d1: tf.slice(d, [0, 0, 1], [-1, -1, K]),
  };
}

/** One-hot [N, n, K] of the bin holding v, from the bins' left edges (the first edge is −B). */
function binOf(v: T, left: T, K: number): T {
  // Number of interior left edges at or below v = the bin index; tf.step has a (zero) gradient.
  const interior = tf.slice(left, [0, 0, 1], [-1, -1, K - 1]);
  const idx = tf.sum(tf.step(tf.add(tf.sub(tf.expandDims(v, 2), interior), 1e-12)), 2);
  return tf.oneHot(tf.cast(idx, 'int32'), K);
}

const pick = (onehot: T, q: T): T => tf.sum(tf.mul(onehot, q), 2);

/**
 * 1 where |v| ≤ B, else 0, as float32 through tf.step (which has a gradient, unlike the boolean
 * ops whose gradients tfjs lacks: a where() on their result breaks backprop through stacked layers).
 */
const insideMask = (v: T, B: number): T => tf.step(tf.add(tf.sub(B, tf.abs(v)), 1e-12));

const blend = (mask: T, a: T, b: T): T => tf.add(tf.mul(mask, a), tf.mul(tf.sub(1, mask), b));

/** log dy/dx of the bin's rational quadratic at θ (Durkan et al., eq. 5). */
function logSlope(th: T, s: T, d0: T, d1: T): T {
  const tt = tf.mul(th, tf.sub(1, th));
  const denom = tf.add(s, tf.mul(tf.sub(tf.add(d1, d0), tf.mul(2, s)), tt));
  const num = tf.mul(tf.square(s), tf.add(tf.add(tf.mul(d1, tf.square(th)), tf.mul(tf.mul(2, s), tt)), tf.mul(d0, tf.square(tf.sub(1, th)))));
  return tf.sub(tf.log(num), tf.mul(2, tf.log(denom)));
}

/**
 * The rational-quadratic spline of every entry of v [N, n] (the identity outside [−B, B]), its
 * knots from raw [N, n, 3K − 1]; `inverse` applies the inverse map. Returns the result and the
 * log|det| of the map applied, summed per row.
 */
export function rqSpline(v: T, raw: T, K: number, B: number, inverse: boolean): { out: T; logDet: T } {
  const k = knots(raw, K, B);
  const vc = tf.clipByValue(v, -B, B);
  const oh = binOf(vc, inverse ? k.ch : k.cw, K);
  const [cw, w, ch, h, d0, d1] = [k.cw, k.w, k.ch, k.h, k.d0, k.d1].map((q) => pick(oh, q)) as [T, T, T, T, T, T];
  const [inside, s] = [insideMask(v, B), tf.div(h, w)];
  if (!inverse) {
    const th = tf.div(tf.sub(vc, cw), w);
    const tt = tf.mul(th, tf.sub(1, th));
    const denom = tf.add(s, tf.mul(tf.sub(tf.add(d1, d0), tf.mul(2, s)), tt));
    const yIn = tf.add(ch, tf.div(tf.mul(h, tf.add(tf.mul(s, tf.square(th)), tf.mul(d0, tt))), denom));
    return { out: blend(inside, yIn, v), logDet: tf.sum(tf.mul(inside, logSlope(th, s, d0, d1)), 1) };
  }
  // Solve the bin's rational quadratic for θ: aθ² + bθ + c = 0, the root in [0, 1].
  const dy = tf.sub(vc, ch);
  const sumD = tf.sub(tf.add(d1, d0), tf.mul(2, s));
  const a = tf.add(tf.mul(h, tf.sub(s, d0)), tf.mul(dy, sumD));
  const b = tf.sub(tf.mul(h, d0), tf.mul(dy, sumD));
  const c = tf.mul(tf.neg(s), dy);
  const disc = tf.relu(tf.sub(tf.square(b), tf.mul(4, tf.mul(a, c))));
  const th = tf.div(tf.mul(2, c), tf.sub(tf.neg(b), tf.sqrt(disc)));
  return { out: blend(inside, tf.add(tf.mul(th, w), cw), v), logDet: tf.neg(tf.sum(tf.mul(inside, logSlope(th, s, d0, d1)), 1)) };
}

/** Rational-quadratic spline coupling with linear tails (Durkan et al., "Neural Spline Flows", arXiv:1906.04032). */
export class SplineCoupling extends Coupling {
  readonly bins: number;
  readonly bound: number;

  constructor(options: SplineOptions) {
    const { bins = 8, bound = 4 } = options;
    checkSplineShape('SplineCoupling', bins, bound);
    // Widths and heights of every bin and the interior knots' derivatives: 3K − 1 per component.
    super('spline-coupling', options, 3 * bins - 1);
    this.bins = bins;
    this.bound = bound;
  }

  /** The spline of x_B (or its inverse), its knots from the conditioner at [x_A] or [x_A, c]. */
  private pass(v: tf.Tensor2D, options: PassOptions | undefined, inverse: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
    const [va, vb] = this.split.parts(v);
    const cond = this.conditionerInput(va, options);
    const raw = tf.reshape(this.net.apply(cond), [cond.shape[0], this.split.b.length, 3 * this.bins - 1]);
    const { out, logDet } = rqSpline(vb, raw, this.bins, this.bound, inverse);
    return { y: this.split.join(va, out as tf.Tensor2D), logDet: logDet as tf.Tensor1D };
  }

  /** Maps data → latent; returns log|det ∂y/∂x| per row. */
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    return tf.tidy(() => {
      const { y, logDet } = this.fusedForward(x, options, 'spline', { bins: this.bins, bound: this.bound }) ?? this.pass(x, options, false);
      return { y, logDet };
    });
  }

  /** Maps latent → data; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    return tf.tidy(() => {
      const { y: x, logDet } = this.pass(y, options, true);
      return { x, logDet };
    });
  }
}

/** The spline's own rules: K ≥ 2 bins and a positive bound B. */
export function checkSplineShape(fn: string, bins: number, bound: number): void {
  if (!Number.isInteger(bins) || bins < 2) throw new InvalidArgumentError(fn, 'bins', bins, 'must be an integer ≥ 2, got {value}.');
  if (!(bound > 0)) throw new InvalidArgumentError(fn, 'bound', bound, 'must be a positive number, got {value}.');
}
