export { createFlow, FLOW_TYPES } from './registry.js';
export type { FlowConfig, FlowType } from './registry.js';
export { saveFlow, loadFlow, ModelFileError, writeFolderAtomically } from './io.js';
