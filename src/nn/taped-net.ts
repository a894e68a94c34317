/**
 * An ODE net's forward pass on the tfjs tape, as a function of its variables: what
 * {@link ODENet.apply} computes, and what the fused op's registered gradient re-tapes (at the
 * saved variables) where a gradient of its gradient is taken.
 */
import { tf } from '../backend/engine.js';
import { ACTIVATIONS } from './activations.js';
import type { ActivationName } from './activations.js';
import type { LayerKind } from './odenet.js';

/**
 * f(t, z) of a net of `kind` layers with `activation` between them, for a batch z: [B, dim], at
 * one time t or at a time per row (t: [B, 1]); `layers` holds each layer's W, b and time weights,
 * then, where the net is conditioned on a context c ([B, contextDim]), its W_c: every layer adds c·W_c.
 */
export function applyLayers(kind: LayerKind, activation: ActivationName, layers: readonly (readonly tf.Tensor[])[], t: number | tf.Tensor, z: tf.Tensor, c: tf.Tensor | null = null): tf.Tensor2D {
  const act = ACTIVATIONS[activation];
  return tf.tidy(() => {
    let h: tf.Tensor = z;
    const tt = typeof t === 'number' ? tf.scalar(t) : t;
    layers.forEach((layer, l) => {
      const [W, b, ...extra] = c ? layer.slice(0, -1) : layer;
      switch (kind) {
        case 'concat':
          h = tf.add(tf.matMul(tf.concat([h, typeof t === 'number' ? tf.fill([h.shape[0]!, 1], t) : t], 1), W!), b!);
          break;
        case 'ignore':
          h = tf.add(tf.matMul(h, W!), b!);
          break;
        case 'squash':
          h = tf.mul(tf.add(tf.matMul(h, W!), b!), tf.sigmoid(tf.add(tf.mul(tt, extra[0]!), extra[1]!)));
          break;
        case 'concatsquash':
          h = tf.add(tf.mul(tf.add(tf.matMul(h, W!), b!), tf.sigmoid(tf.add(tf.mul(tt, extra[0]!), extra[1]!))), tf.mul(tt, extra[2]!));
          break;
        case 'hyper': {
          // W·(1 + tanh(t·w_h)) is one scale: per row, it multiplies the product instead.
          const scale = tf.add(1, tf.tanh(tf.mul(tt, extra[0]!)));
          h = tf.add(typeof t === 'number' ? tf.matMul(h, tf.mul(W!, scale)) : tf.mul(tf.matMul(h, W!), scale), b!);
          break;
        }
      }
      if (c) h = tf.add(h, tf.matMul(c, layer[layer.length - 1]!));
      if (l + 1 < layers.length) h = act(h);
    });
    return h as tf.Tensor2D;
  });
}
