export { tanh, sigmoid, softplus, swish, elu, exp, ACTIVATIONS } from './activations.js';
export type { ActivationName } from './activations.js';
