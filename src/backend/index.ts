export { tf } from './engine.js';
export { useBackend, backendInfo, BackendUnavailableError, BACKEND_NAMES } from './backends.js';
export type { AdapterInfo, BackendInfo, BackendName, UseBackendOptions } from './backends.js';
