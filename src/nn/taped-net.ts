/**
 * An ODE net's forward pass on the tfjs tape, as a function of its variables: what
 * {@link ODENet.apply} computes, and what the fused op's registered gradient re-tapes (at the
 * saved variables) where a gradient of its gradient is taken.
 */
import { tf } from '../backend/engine.js';
import { ACTIVATIONS, TENSOR_ARITH } from './activations.js';
import { LAYER_DEFS, namedExtras } from './layer-defs.js';
import type { ActivationName } from './activations.js';
import type { LayerKind } from './odenet.js';

/**
 * f(t, z) of a net of `kind` layers with `activation` between them, for a batch z: [B, dim], at
 * one time t or at a time per row (t: [B, 1]); `layers` holds each layer's W, b and time weights,
 * then, where the net is conditioned on a context c ([B, contextDim]), its W_c: every layer adds c·W_c.
 */
export function applyLayers(kind: LayerKind, activation: ActivationName, layers: readonly (readonly tf.Tensor[])[], t: number | tf.Tensor, z: tf.Tensor, c: tf.Tensor | null = null): tf.Tensor2D {
  const act = ACTIVATIONS[activation];
  const def = LAYER_DEFS[kind];
  return tf.tidy(() => {
    let h: tf.Tensor = z;
    const tt = typeof t === 'number' ? tf.scalar(t) : t;
    layers.forEach((layer, l) => {
      const p = c ? layer.slice(0, -1) : layer;
      const [Wfull, b] = p as [tf.Tensor, tf.Tensor];
      const rows = Wfull.shape[0]!;
      const W = def.timeRow ? tf.slice(Wfull, [0, 0], [rows - 1, -1]) : Wfull;
      const q = namedExtras(def, p, () => tf.slice(Wfull, [rows - 1, 0], [1, -1]));
      // a = (h·W)⊙S + Sh, the kind's one definition (layer-defs.ts); S and Sh broadcast over rows.
      const S = def.scale ? def.scale(TENSOR_ARITH, tt, q) : null;
      const hW = tf.matMul(h, W);
      h = tf.add(S ? tf.mul(hW, S) : hW, def.shift(TENSOR_ARITH, tt, b, S, q));
      if (c) h = tf.add(h, tf.matMul(c, layer[layer.length - 1]!));
      if (l + 1 < layers.length) h = act(h);
    });
    return h as tf.Tensor2D;
  });
}
