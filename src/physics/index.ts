export { DOUBLE_WELL, MUELLER_BROWN, POTENTIALS, energyGrad, regularizeEnergy } from './potentials.js';
export type { Potential } from './potentials.js';
export { mcmc } from './mcmc.js';
export type { McmcOptions, McmcResult } from './mcmc.js';
export { quadratureFreeEnergy, importanceWeights, reweightedFreeEnergy } from './free-energy.js';
export { reverseKL } from './boltzmann.js';
export type { Sampler } from './boltzmann.js';
