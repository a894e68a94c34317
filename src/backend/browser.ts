/**
 * Backend choice in a browser: the same `useBackend` as in Node, with the browser's own order for
 * 'auto' — WebGPU (navigator.gpu with a hardware adapter) → WebGL → wasm → cpu. Nothing here
 * imports a Node module, so bundlers build it as is.
 */
import { selectBackend } from './select.js';
import type { BackendInfo, BackendName, Platform, UseBackendOptions } from './select.js';

export { backendInfo, BackendUnavailableError, BACKEND_NAMES } from './select.js';
export type { AdapterInfo, BackendInfo, BackendName, UseBackendOptions } from './select.js';

const BROWSER: Platform = {
  auto: ['webgpu', 'webgl', 'wasm', 'cpu'],
  override: () => undefined,
  fixes: {
    webgpu: 'Use a browser with WebGPU enabled (navigator.gpu) and a GPU it accepts, or use webgl or wasm.',
    webgl: 'Enable hardware acceleration in the browser, or use wasm.',
    wasm: "Serve the tfjs-backend-wasm .wasm files and pass their URL: useBackend('wasm', { wasmPaths: '/assets/' }).",
    'tfjs-node': "tfjs-node runs only in Node; in a browser use 'webgpu', 'webgl' or 'wasm'.",
    'tfjs-node-gpu': "tfjs-node-gpu runs only in Node; in a browser use 'webgpu', 'webgl' or 'wasm'.",
    cpu: 'The cpu backend is @tensorflow/tfjs-backend-cpu, a dependency of biflow; reinstall it.',
  },
};

/**
 * Loads and activates a backend in a browser. Give `wasmPaths` where the wasm backend's binaries
 * are served. Named backends that cannot load raise `BackendUnavailableError`; 'auto' falls
 * through WebGPU → WebGL → wasm → cpu and reports what it skipped.
 *
 * @example
 * await useBackend('auto', { wasmPaths: '/assets/' });
 * backendInfo().name;                // 'webgpu' | 'webgl' | 'wasm' | 'cpu'
 */
export async function useBackend(name: BackendName = 'auto', options: UseBackendOptions = {}): Promise<BackendInfo> {
  return selectBackend(BROWSER, name, options);
}
