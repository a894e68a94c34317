/**
 * Activations whose gradients are recomputed from the input, so that second-order gradients are
 * right. tfjs 4.22 builds the gradients of tanh, sigmoid, exp, elu, … from the saved *output*,
 * which the tape does not connect back to the input: a gradient of such a gradient is silently
 * wrong (tfjs issue 3252). FFJORD needs exactly that — the parameter gradient of a Hutchinson
 * trace estimate εᵀ(∂f/∂z)ε — so every activation here is a `tf.customGrad` whose backward pass
 * is written with ops on x, each differentiable again.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';

type Tensor = tf.Tensor;

function withGrad(forward: (x: Tensor) => Tensor, derivative: (x: Tensor) => Tensor): (x: Tensor) => Tensor {
  const op = tf.customGrad((x: unknown, save: unknown) => {
    const input = x as Tensor;
    (save as (ts: Tensor[]) => void)([input]);
    return {
      value: forward(input),
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.mul(dy, derivative(saved[0]!)),
    };
  });
  return (x) => op(x) as Tensor;
}

/** sech²(x) = 1 − tanh²(x), from x. */
export const tanh = withGrad(
  (x) => tf.tanh(x),
  (x) => tf.sub(1, tf.square(tf.tanh(x))),
);

/** σ(x)(1 − σ(x)), from x. */
export const sigmoid = withGrad(
  (x) => tf.sigmoid(x),
  (x) => {
    const s = tf.sigmoid(x);
    return tf.mul(s, tf.sub(1, s));
  },
);

/** log(1 + eˣ) with derivative σ(x). */
export const softplus = withGrad(
  (x) => tf.softplus(x),
  (x) => sigmoid(x),
);

/** x·σ(x) (SiLU), with derivative σ(x)(1 + x(1 − σ(x))). */
export const swish = withGrad(
  (x) => tf.mul(x, tf.sigmoid(x)),
  (x) => {
    const s = sigmoid(x);
    return tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s))));
  },
);

/** x for x > 0, eˣ − 1 otherwise; derivative 1 or eˣ (exp recomputed from x). */
export const elu = withGrad(
  (x) => tf.elu(x),
  (x) => {
    // step(x) is 1 for x > 0 and 0 otherwise, with a (zero) gradient registered, unlike greater().
    const positive = tf.step(x);
    return tf.add(positive, tf.mul(tf.sub(1, positive), exp(tf.minimum(x, 0))));
  },
);

/** eˣ with its derivative recomputed from x (tfjs's Exp gradient reuses the output). */
export const exp = withGrad(
  (x) => tf.exp(x),
  (x) => exp(x),
);

/** Activations whose gradients are recomputed from the input, so gradients of gradients (FFJORD's Hutchinson trace) are right; tfjs 4.22's own are not (tfjs issue 3252). */
export const ACTIVATIONS = { tanh, sigmoid, softplus, swish, elu } as const;
/** The name of one of {@link ACTIVATIONS}. */
export type ActivationName = keyof typeof ACTIVATIONS;

/**
 * Rejects a name that is not one of {@link ACTIVATIONS} (or 'relu', where `relu` allows it: the
 * couplings' conditioners take it; ODE nets do not, its second derivative being zero).
 */
export function checkActivation(fn: string, name: unknown, { relu, arg = 'activation' }: { relu: boolean; arg?: string }): void {
  if (relu && name === 'relu') return;
  if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATIONS, name)) return;
  const names = [...Object.keys(ACTIVATIONS), ...(relu ? ['relu'] : [])];
  throw new InvalidArgumentError(fn, arg, name, `is not an activation, got {value}. Use one of: ${names.join(', ')}.`);
}
