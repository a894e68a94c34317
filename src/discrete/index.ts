export { Coupling, AdditiveCoupling, AffineCoupling } from './coupling.js';
export type { CouplingOptions } from './coupling.js';
export { DiagonalScaling, ActNorm, Permutation } from './elementwise.js';
export { LULinear } from './lu-linear.js';
export { SplineCoupling } from './spline.js';
export type { SplineOptions } from './spline.js';
export { Split } from './masks.js';
export type { MaskParity } from './masks.js';
