export type { Bijector, BijectorConfig, BijectorResult, InverseResult } from './bijector.js';
export { Sequential, Inverse, leafBlocks } from './compose.js';
export { StandardNormal, DiagNormal } from './distributions.js';
export type { Distribution } from './distributions.js';
export { Flow } from './flow.js';
export type { OnePassSampler, SampleVia } from './flow.js';
