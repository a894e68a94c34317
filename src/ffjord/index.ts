export { CNF, setTrace } from './cnf.js';
export type { CNFOptions, CNFStats, TraceEstimator } from './cnf.js';
export { cnfField64, cnfForward64 } from './float64.js';
export { flowMatchingObjective, flowMatchingBatch, FlowMatching, OBJECTIVES } from './flow-matching.js';
export type { Objective, FlowMatchingOptions, FlowMatchingBatch } from './flow-matching.js';
export { AssignmentSolver, squaredDistanceAssignment } from './ot.js';
