export { createFlow, FLOW_TYPES } from './registry.js';
export type { FlowConfig, FlowType } from './registry.js';
export { saveFlow, loadFlow, ModelFileError } from './io.js';
