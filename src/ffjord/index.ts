export { CNF, setTrace } from './cnf.js';
export type { CNFOptions, CNFStats, TraceEstimator } from './cnf.js';
export { cnfField64, cnfForward64 } from './float64.js';
