/**
 * Splitting a vector into the part a coupling conditions on (A) and the part it transforms (B),
 * and putting it back together. Done with constant 0/1 matrices: matMul has a gradient on every
 * backend, while tf.gather's needs UnsortedSegmentSum, which the wasm backend lacks (tfjs 4.22).
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';

export type MaskParity = 'even' | 'odd';

export class Split {
  readonly a: number[];
  readonly b: number[];
  private readonly aSel: tf.Tensor2D;
  private readonly bSel: tf.Tensor2D;
  private readonly back: tf.Tensor2D;

  /** 'even': components 0, 2, 4… condition and the others are transformed; 'odd' the reverse. */
  constructor(
    readonly dim: number,
    readonly parity: MaskParity,
  ) {
    if (!Number.isInteger(dim) || dim < 2) throw new InvalidArgumentError('coupling', 'dim', dim, 'must be an integer ≥ 2 (a coupling needs two parts), got {value}.');
    const idx = Array.from({ length: dim }, (_, i) => i);
    const even = idx.filter((i) => i % 2 === 0);
    const odd = idx.filter((i) => i % 2 === 1);
    [this.a, this.b] = parity === 'even' ? [even, odd] : [odd, even];
    const order = [...this.a, ...this.b];
    this.aSel = tf.keep(selection(this.a, dim));
    this.bSel = tf.keep(selection(this.b, dim));
    this.back = tf.keep(selection(order, dim));
  }

  parts(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    return [tf.matMul(x, this.aSel, false, true), tf.matMul(x, this.bSel, false, true)];
  }

  /** x_A alone (one product): what a fused coupling conditions on. */
  conditioning(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.aSel, false, true);
  }

  join(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
    // Column p of [a, b] is component order[p]: multiplying by the selection matrix scatters it back.
    return tf.matMul(tf.concat([a, b], 1), this.back);
  }

  dispose(): void {
    tf.dispose([this.aSel, this.bSel, this.back]);
  }
}

/** The [k, dim] matrix whose row r picks component idx[r]: x · Sᵀ = x[:, idx]. */
export function selection(idx: readonly number[], dim: number): tf.Tensor2D {
  const m = new Float32Array(idx.length * dim);
  idx.forEach((c, r) => (m[r * dim + c] = 1));
  return tf.tensor2d(m, [idx.length, dim]);
}
