/**
 * Activations whose gradients are recomputed from the input, so that second-order gradients are
 * right. tfjs 4.22 builds the gradients of tanh, sigmoid, exp, elu, … from the saved *output*,
 * which the tape does not connect back to the input: a gradient of such a gradient is silently
 * wrong (tfjs issue 3252). FFJORD needs exactly that — the parameter gradient of a Hutchinson
 * trace estimate εᵀ(∂f/∂z)ε — so every activation here is a `tf.customGrad` whose backward pass
 * is written with ops on x, each differentiable again. The formulas are the one definition of each
 * activation (activation-defs.ts), evaluated on tensors.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import { ACTIVATION_DEFS } from './activation-defs.js';
import type { ActivationDef, Arith as TensorArith } from './activation-defs.js';

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

type Arith = TensorArith<Tensor>;

/**
 * The definitions' arithmetic on tfjs ops (broadcasting): for values, and for the layers' time
 * terms (functions of t and the variables only, never differentiated twice through an activation).
 */
export const TENSOR_ARITH: Arith = { add: tf.add, sub: tf.sub, mul: tf.mul, minimum: tf.minimum, sigmoid: tf.sigmoid, softplus: tf.softplus, elu: tf.elu, exp: tf.exp, step: (x) => tf.step(x) };

/** The same arithmetic with the activations below, for derivatives that must differentiate again. */
const SAFE: Arith = { ...TENSOR_ARITH, sigmoid: (x) => sigmoid(x), softplus: (x) => softplus(x), elu: (x) => elu(x), exp: (x) => exp(x) };

/** The activation `def` on tensors: its value from the definition, its derivative σ′ recomputed from x. */
function fromDef(def: ActivationDef): (x: Tensor) => Tensor {
  return withGrad(
    (x) => def.h(TENSOR_ARITH, x),
    (x) => def.d1(SAFE, x, def.h(SAFE, x)),
  );
}

/** tanh(x), with derivative 1 − tanh²(x) from x. */
export const tanh = fromDef(ACTIVATION_DEFS.tanh);

/** σ(x), with derivative σ(x)(1 − σ(x)) from x. */
export const sigmoid = fromDef(ACTIVATION_DEFS.sigmoid);

/** log(1 + eˣ) with derivative σ(x). */
export const softplus = fromDef(ACTIVATION_DEFS.softplus);

/** x·σ(x) (SiLU), with derivative σ(x)(1 + x(1 − σ(x))). */
export const swish = fromDef(ACTIVATION_DEFS.swish);

/** x for x > 0, eˣ − 1 otherwise; derivative 1 or eˣ (exp recomputed from x). */
export const elu = fromDef(ACTIVATION_DEFS.elu);

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
