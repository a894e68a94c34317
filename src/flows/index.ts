export type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions, TraceEstimator } from './bijector.js';
export { DEFAULT_BATCH } from './rows.js';
export { Sequential, Inverse, leafBlocks } from './compose.js';
export { StandardNormal, DiagNormal } from './distributions.js';
export type { Distribution } from './distributions.js';
export { Flow } from './flow.js';
export type { EvalOptions, OnePassSampler, SampleOptions, SampleVia } from './flow.js';
