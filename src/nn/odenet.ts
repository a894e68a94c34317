/**
 * ODE nets: MLP vector fields f(t, z) whose layers see time, as in FFJORD (Grathwohl et al.,
 * "FFJORD: Free-form Continuous Dynamics for Scalable Reversible Generative Models",
 * arXiv:1810.01367). Layer kinds:
 * - `concatsquash` (default): (zW + b)·σ(t·w_g + b_g) + t·w_b
 * - `concat`: [z, t]W + b
 * - `squash`: (zW + b)·σ(t·w_g + b_g)
 * - `ignore`: zW + b (autonomous)
 * - `hyper`: zW + b with W scaled by a time gate, W·(1 + tanh(t·w_h))
 * Activations come from `ACTIVATIONS`, whose higher-order gradients are right.
 *
 * Conditioning (`contextDim` k > 0): every layer of every kind takes the context c ([B, k]) as an
 * input of its own, adding c·W_c (W_c: [k, out]) to its output before the activation — for
 * `concat` that is [z, t, c]·W + b, for `concatsquash` the shift t·w_b becomes [t, c]·[w_b; W_c],
 * for `ignore`, `squash` and `hyper` an added c·W_c. The gates and scales stay functions of t
 * alone: c then shifts each layer's pre-activation and leaves the Jacobian ∂(layer)/∂h as it is,
 * so the trace's forward-mode tangents, and the closed-form op's folding of each layer's time
 * dependence into its weights, are unchanged; through the nonlinearities between the layers the
 * field is still a full function of (t, z, c). W_c is the last variable of each layer.
 */
import { tf } from '../backend/engine.js';
import { checkParameters } from '../backend/memory.js';
import { InvalidArgumentError } from '../errors.js';
import { checkActivation } from './activations.js';
import type { ActivationName } from './activations.js';
import { fusedAugmented, tapedAugmented } from './fused-field.js';
import { packVariables } from './packed-variables.js';
import type { AugmentedLayout } from './fused-field.js';
import { fusedFlowMatchingLoss } from './fm-loss.js';
import { applyLayers } from './taped-net.js';
import { LAYER_DEFS } from './layer-defs.js';

/** The layer kinds of an {@link ODENet} (how each layer sees time). */
export const LAYER_KINDS = ['concatsquash', 'concat', 'squash', 'ignore', 'hyper'] as const;
/** One of {@link LAYER_KINDS}. */
export type LayerKind = (typeof LAYER_KINDS)[number];

/** Options of an {@link ODENet}: dimension, hidden sizes, layer kind, activation, context width and seed. */
export interface ODENetOptions {
  dim: number;
  /** Width of the context c every layer conditions on (default 0: unconditional). */
  contextDim?: number;
  hidden?: number[];
  layer?: LayerKind;
  activation?: ActivationName;
  seed?: number;
}

interface Layer {
  W: tf.Variable;
  b: tf.Variable;
  /** Time weights: gate (w_g, b_g), bias (w_b) or hyper scale (w_h), as the kind needs; then W_c where conditioned. */
  extra: tf.Variable[];
}

const variable = (init: () => tf.Tensor) => tf.tidy(() => tf.variable(init()));

/** Rejects a layer kind that is not one of {@link LAYER_KINDS}. */
export function checkLayerKind(fn: string, layer: unknown, arg = 'layer'): void {
  if (!LAYER_KINDS.includes(layer as LayerKind)) throw new InvalidArgumentError(fn, arg, layer, `is not a layer kind, got {value}. Use one of: ${LAYER_KINDS.join(', ')}.`);
}

/** Rejects a context width that is not an integer ≥ 0. */
export function checkContextDim(fn: string, contextDim: unknown, arg = 'contextDim'): void {
  if (!Number.isSafeInteger(contextDim) || (contextDim as number) < 0) throw new InvalidArgumentError(fn, arg, contextDim, 'must be an integer ≥ 0 (the width of the context rows; 0: unconditional), got {value}.');
}

/** Rejects hidden sizes that are not a list of positive integers. */
export function checkHidden(fn: string, hidden: unknown, arg = 'hidden'): void {
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new InvalidArgumentError(fn, arg, hidden, 'must be an array of positive integers such as [64, 64], got {value}.');
}

/** An MLP vector field f(t, z) whose layers see time, as in FFJORD (arXiv:1810.01367). */
export class ODENet {
  readonly dim: number;
  readonly hidden: number[];
  readonly layer: LayerKind;
  readonly activation: ActivationName;
  readonly contextDim: number;
  private readonly layers: Layer[] = [];

  constructor({ dim, hidden = [64, 64, 64], layer = 'concatsquash', activation = 'tanh', contextDim = 0, seed = 0 }: ODENetOptions) {
    if (!Number.isInteger(dim) || dim < 1) throw new InvalidArgumentError('ODENet', 'dim', dim, 'must be a positive integer, got {value}.');
    checkContextDim('ODENet', contextDim);
    checkHidden('ODENet', hidden);
    checkLayerKind('ODENet', layer);
    checkActivation('ODENet', activation, { relu: false });
    this.dim = dim;
    this.hidden = hidden;
    this.layer = layer;
    this.activation = activation;
    this.contextDim = contextDim;
    const sizes = [dim, ...hidden, dim];
    // Up to four vectors per layer beside W (the bias and the kind's time variables); W of a `timeRow` kind has a row for t.
    const def = LAYER_DEFS[layer];
    const timeRow = def.timeRow ? 1 : 0;
    checkParameters('ODENet', hidden, sizes.slice(1).map((o, l) => [sizes[l]! + timeRow + contextDim, o] as const), 4);
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fanIn = sizes[l]! + timeRow;
      const fanOut = sizes[l + 1]!;
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      // tfjs treats a seed of 0 as "unseeded": keep every seed ≥ 1 so seed 0 is reproducible too.
      const s = seed * 7919 + l * 31 + 1;
      // The kind's time variables as its definition starts them (layer-defs.ts).
      const extra: tf.Variable[] = def.extras.map((name) => {
        const { shape, seed: offset } = def.init[name]!;
        const dims = shape === 'row' ? [1, fanOut] : shape === 'vector' ? [fanOut] : [1, 1];
        return variable(() => (offset === undefined ? tf.zeros(dims) : tf.randomUniform(dims, -1, 1, 'float32', s + offset)));
      });
      if (contextDim > 0) extra.push(variable(() => tf.randomUniform([contextDim, fanOut], -lim, lim, 'float32', s + 4)));
      this.layers.push({
        W: variable(() => tf.randomUniform([fanIn, fanOut], -lim, lim, 'float32', s)),
        b: variable(() => tf.zeros([fanOut])),
        extra,
      });
    }
  }

  /**
   * f(t, z) for a batch z: [B, dim], at one time t or at a time per row (t: [B, 1], as flow
   * matching evaluates the field); a conditioned net (`contextDim` > 0) reads the context rows
   * c: [B, contextDim].
   */
  apply(t: number | tf.Tensor, z: tf.Tensor, c?: tf.Tensor): tf.Tensor2D {
    if (this.contextDim > 0 && (!(c instanceof tf.Tensor) || c.rank !== 2 || c.shape[1] !== this.contextDim || c.shape[0] !== z.shape[0])) {
      throw new InvalidArgumentError('ODENet.apply', 'context', c instanceof tf.Tensor ? c.shape : c, `must be a [${z.shape[0]}, ${this.contextDim}] tensor (one context row per row of z) for a net with contextDim ${this.contextDim}, got {value}.`);
    }
    return applyLayers(this.layer, this.activation, this.layerVariables, t, z, this.contextDim > 0 ? c! : null);
  }

  /**
   * A CNF's augmented dynamics dY/dt for the state tensor Y = [z; L; (E; F); (ε)], a row per
   * component and a column per sample (see fused-field.ts): f, the trace (exact or Hutchinson)
   * and the RNODE integrands. `fused` (default) is one op with a closed-form backward pass;
   * otherwise everything is taped (the reference). `packed`: this net's {@link packVariables}
   * (same variables, packed), for many evaluations on one tape.
   */
  augmented(t: number, y: tf.Tensor2D, layout: AugmentedLayout, fused = true, packed: tf.Tensor | null = null): tf.Tensor2D {
    if ((layout.context ?? 0) !== this.contextDim) throw new InvalidArgumentError('ODENet.augmented', 'layout.context', layout.context, `must be the net's contextDim ${this.contextDim} (context rows in the state), got {value}.`);
    const size = packed === null ? 0 : this.variables.reduce((n, v) => n + v.size, 0);
    if (packed !== null && (!(packed instanceof tf.Tensor) || packed.rank !== 1 || packed.size !== size)) throw new InvalidArgumentError('ODENet.augmented', 'packed', packed instanceof tf.Tensor ? packed.shape : packed, `must be this net's packVariables() (a [${size}] tensor) or null, got {value}.`);
    const taped = (tt: number, yy: tf.Tensor) => tapedAugmented((s, z, c) => applyLayers(this.layer, this.activation, this.layerVariables, s, z, c), layout, tt, yy);
    if (!fused) return taped(t, y);
    return fusedAugmented({ kind: this.layer, activation: this.activation, layers: this.layerVariables }, layout, t, y, taped, packed);
  }

  /**
   * The variables as one taped tensor for {@link augmented}'s `packed`, where the fused op can
   * take them so (a first-order tape, not WebGPU; else null): a solve tapes the op at every
   * evaluation, and the tape sums one gradient per evaluation for them instead of one per
   * variable. Make it once per solve, under the tape that records the solve.
   */
  packVariables(): tf.Tensor1D | null {
    return packVariables(this.variables);
  }

  /**
   * The flow-matching loss (1/B) Σ_b ‖f(t_b, x_b | c_b) − u_b‖² at a time per row (t [B, 1]): by
   * default one op with a closed-form gradient (nn/fm-loss.ts); `fused: false` tapes `apply`.
   * A conditioned net (`contextDim` > 0) reads the context rows c [B, contextDim] and always
   * tapes `apply`: the closed-form op has no context term.
   */
  flowMatchingLoss(t: tf.Tensor2D, x: tf.Tensor2D, u: tf.Tensor2D, fused = true, c?: tf.Tensor2D): tf.Scalar {
    if (this.contextDim === 0 && c !== undefined) throw new InvalidArgumentError('ODENet.flowMatchingLoss', 'context', c instanceof tf.Tensor ? c.shape : c, 'was given to a net without a context (contextDim 0), got {value}. Drop it, or build the net with contextDim.');
    const taped = (tt: tf.Tensor2D, xx: tf.Tensor2D, uu: tf.Tensor2D) => tf.tidy(() => tf.mean(tf.sum(tf.square(tf.sub(this.apply(tt, xx, c), uu)), 1)) as tf.Scalar);
    if (!fused || this.contextDim > 0) return taped(t, x, u);
    return fusedFlowMatchingLoss({ kind: this.layer, activation: this.activation, layers: this.layerVariables }, t, x, u, taped);
  }

  /** The variables layer by layer: W, b, then the kind's time weights (read at every evaluation: built once). */
  get layerVariables(): readonly (readonly tf.Variable[])[] {
    return (this.byLayer ??= this.layers.map(({ W, b, extra }) => [W, b, ...extra]));
  }

  private byLayer?: tf.Variable[][];

  get variables(): tf.Variable[] {
    return this.layerVariables.flat();
  }

  /** Releases the variables. */
  dispose(): void {
    tf.dispose(this.variables);
  }
}
