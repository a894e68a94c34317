/** Small tensor ops tfjs lacks. */
import { tf } from '../backend/engine.js';

/** x in value with no gradient (tfjs has no stopGradient op): constants built from live tensors. */
export const stopGradient = tf.customGrad((x: unknown) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;
