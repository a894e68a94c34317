export { tanh, sigmoid, softplus, swish, elu, exp, ACTIVATIONS } from './activations.js';
export type { ActivationName } from './activations.js';
export { MLP } from './mlp.js';
export type { MLPOptions } from './mlp.js';
export { ODENet, LAYER_KINDS } from './odenet.js';
export type { ODENetOptions, LayerKind } from './odenet.js';
export type { AugmentedLayout } from './fused-field.js';
