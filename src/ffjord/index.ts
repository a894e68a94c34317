export { CNF, setTrace } from './cnf.js';
export type { CNFOptions, CNFStats, TraceEstimator } from './cnf.js';
