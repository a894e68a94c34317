/**
 * The one contract every block of a flow meets, continuous or discrete (zuko's transform with
 * `call_and_ladj` as the fast path).
 *
 * `forward` maps data → latent and returns log|det ∂y/∂x| per row; `inverse` maps latent → data
 * and returns log|det ∂x/∂y| per row (the negative of the forward log-det at the same point).
 * Inputs and outputs are `[N, dim]` float32 tensors; log-dets are `[N]`.
 */
import type { tf } from '../backend/engine.js';

/** A forward pass: the latent rows y and log|det ∂y/∂x| per row. */
export interface BijectorResult {
  y: tf.Tensor2D;
  logDet: tf.Tensor1D;
}

/** An inverse pass: the data rows x and log|det ∂x/∂y| per row. */
export interface InverseResult {
  x: tf.Tensor2D;
  logDet: tf.Tensor1D;
}

/** A JSON description from which the registry rebuilds the bijector (weights apart). */
export interface BijectorConfig {
  kind: string;
  [key: string]: unknown;
}

/** The contract every block of a flow meets, continuous or discrete: forward (data → latent) and inverse, each with its log|det J| per row. */
export interface Bijector {
  readonly dim: number;
  /** Maps data → latent; returns log|det ∂y/∂x| per row. */
  forward(x: tf.Tensor2D): BijectorResult;
  /** Maps latent → data; returns log|det ∂x/∂y| per row. */
  inverse(y: tf.Tensor2D): InverseResult;
  /** Every variable training should update, in a fixed order (save/load relies on it). */
  readonly trainableVariables: tf.Variable[];
  /** The JSON description the registry rebuilds this block from. */
  getConfig(): BijectorConfig;
  /** Data-dependent initialisation (ActNorm); a no-op for most blocks. */
  initialize?(x: tf.Tensor2D): void;
  /** A penalty the latest forward pass adds to the training loss (RNODE), or null. */
  regularization?(): tf.Scalar | null;
  /** Numbers worth logging while training (a CNF's NFE); summed over a Sequential. */
  solverStats?(): Record<string, number>;
  /** Releases the variables. */
  dispose(): void;
}
