/**
 * Invertible linear map with an LU parametrisation — Glow's invertible 1×1 convolution, for
 * vectors: W = P · L · (U + diag(sign · exp(log|s|))) with P a fixed permutation, L unit lower
 * triangular, U strictly upper triangular. log|det W| = Σ log|s|, O(D) instead of O(D³).
 * Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", arXiv:1807.03039.
 *
 * The inverse forms W⁻¹ on the host in float64 (D is small for vector data); it is exact but not
 * differentiable, which sampling does not need.
 */
import { tf } from '../backend/engine.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult } from '../flows/bijector.js';
import { Permutation } from './elementwise.js';
import { fusedOpsAvailable } from './fused-op.js';
import { fusedLULinear } from './linear-kernel.js';

/** The largest dimension the fused forward runs at (its host loops do N·D² work). */
const FUSED_MAX_DIM = 16;

/** Glow's invertible linear map in LU form, log|det| in O(D) (Kingma & Dhariwal, arXiv:1807.03039). */
export class LULinear implements Bijector {
  readonly lower: tf.Variable;
  readonly upper: tf.Variable;
  readonly logScale: tf.Variable;
  private readonly permutation: Permutation;
  private readonly lowerMask: tf.Tensor2D;
  private readonly upperMask: tf.Tensor2D;
  private readonly eye: tf.Tensor2D;
  /** Whether the forward pass runs as one fused kernel where the backend has it (wasm, cpu; dim ≤ 16; default true); false tapes the engine ops. */
  fused = true;

  /** Starts as the permutation P (L = I, U = 0, s = 1), a common identity-like initialisation. */
  constructor(
    readonly dim: number,
    readonly seed = 0,
  ) {
    this.permutation = new Permutation(dim, { seed });
    this.lower = tf.tidy(() => tf.variable(tf.zeros([dim, dim])));
    this.upper = tf.tidy(() => tf.variable(tf.zeros([dim, dim])));
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim])));
    // Kept (they outlive any scope the flow is built in) and freed by dispose(); the tidy frees
    // the band parts they are made from.
    [this.lowerMask, this.upperMask, this.eye] = tf.tidy(() => {
      const ones = tf.ones([dim, dim]);
      const eye = tf.eye(dim) as tf.Tensor2D;
      const strict = (lower: number, upper: number) => tf.keep(tf.sub(tf.linalg.bandPart(ones, lower, upper), eye) as tf.Tensor2D);
      return [strict(-1, 0), strict(0, -1), tf.keep(eye)];
    });
  }

  /** W without the permutation: L (U + diag s). */
  private weight(): tf.Tensor2D {
    const L = tf.add(tf.mul(this.lower, this.lowerMask), this.eye);
    const U = tf.add(tf.mul(this.upper, this.upperMask), tf.mul(this.eye, tf.exp(this.logScale)));
    return tf.matMul(L, U) as tf.Tensor2D;
  }

  forward(x: tf.Tensor2D): BijectorResult {
    // Host loops of N·D² work: the fused op pays for small D (vector data), the products beyond.
    if (this.fused && this.dim <= FUSED_MAX_DIM && fusedOpsAvailable()) return fusedLULinear(x, this.lower as tf.Tensor2D, this.upper as tf.Tensor2D, this.logScale as tf.Tensor1D, this.permutation.perm);
    return tf.tidy(() => {
      const xp = this.permutation.forward(x).y;
      return { y: tf.matMul(xp, this.weight(), false, true) as tf.Tensor2D, logDet: tf.add(tf.zeros([x.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D };
    });
  }

  inverse(y: tf.Tensor2D): InverseResult {
    return tf.tidy(() => {
      const inv = invert(this.weight().arraySync() as number[][]);
      const xp = tf.matMul(y, tf.tensor2d(inv), false, true) as tf.Tensor2D;
      return { x: this.permutation.inverse(xp).x, logDet: tf.sub(tf.zeros([y.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D };
    });
  }

  get trainableVariables(): tf.Variable[] {
    return [this.lower, this.upper, this.logScale];
  }

  getConfig(): BijectorConfig {
    return { kind: 'lu-linear', dim: this.dim, seed: this.seed };
  }

  dispose(): void {
    tf.dispose([this.lower, this.upper, this.logScale, this.lowerMask, this.upperMask, this.eye]);
    this.permutation.dispose();
  }
}

/** Gauss–Jordan inverse with partial pivoting, in float64. */
function invert(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const piv = a[c]![c]!;
    for (let k = 0; k < 2 * n; k++) a[c]![k]! /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      if (f !== 0) for (let k = 0; k < 2 * n; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return a.map((row) => row.slice(n));
}
