/**
 * Backend choice in Node: `useBackend(name)` loads and activates a tfjs backend, `backendInfo()`
 * says which one (and which GPU adapter) is in use.
 *
 * 'auto' tries, in order: tfjs-node-gpu → tfjs-node → WebGPU with a hardware adapter → wasm → cpu.
 * The environment variable BIFLOW_BACKEND overrides the name passed as 'auto'. WebGPU comes from
 * Dawn (the `webgpu` package) installed as `navigator.gpu`. The browser twin is `./browser.ts`;
 * what both share is `./select.ts`.
 */
import { selectBackend } from './select.js';
import type { BackendInfo, BackendName, ConcreteBackend, Platform, UseBackendOptions } from './select.js';

export { backendInfo, BackendUnavailableError, BACKEND_NAMES } from './select.js';
export type { AdapterInfo, BackendInfo, BackendName, UseBackendOptions } from './select.js';

/** Dawn's navigator.gpu (the `webgpu` package), for tfjs's WebGPU backend in Node. */
async function installDawn(): Promise<void> {
  process.env.XDG_RUNTIME_DIR ??= (await import('node:os')).tmpdir();
  const dawn = (await import('webgpu')) as { create(flags: string[]): unknown; globals: object };
  Object.assign(globalThis, dawn.globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: dawn.create([]), configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
}

const NODE: Platform = {
  auto: ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'],
  override: () => process.env.BIFLOW_BACKEND,
  installGpu: installDawn,
  async loadNative(name: ConcreteBackend) {
    // Optional dependencies: their install downloads libtensorflow, which may not have happened.
    await import(name === 'tfjs-node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu');
  },
  fixes: {
    'tfjs-node': "Install it with 'npm install @tensorflow/tfjs-node' where its install script can download libtensorflow, or use 'wasm'.",
    'tfjs-node-gpu': "Install it with 'npm install @tensorflow/tfjs-node-gpu' (needs CUDA 11.2 and a download of libtensorflow), or use 'webgpu' or 'wasm'.",
    webgpu: "Install a Vulkan driver: a GPU driver, or Mesa lavapipe ≥ 25 ('apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1' on Debian 12); point VK_DRIVER_FILES at its ICD file if it is not in the default place. Or use 'wasm'.",
    webgl: "WebGL exists only in browsers; in Node use 'webgpu' or 'wasm'.",
    wasm: "Reinstall @tensorflow/tfjs-backend-wasm (npm ci), or use 'cpu'.",
    cpu: 'The cpu backend ships with @tensorflow/tfjs; reinstall it (npm ci).',
  },
};

/**
 * Loads and activates a backend. Named backends that cannot load raise
 * {@link BackendUnavailableError}; 'auto' falls through the list and reports what it skipped.
 *
 * @example
 * await useBackend('auto');          // or 'wasm' | 'cpu' | 'webgpu' | 'tfjs-node' | 'tfjs-node-gpu'
 * backendInfo();                     // { name: 'wasm', tfBackend: 'wasm', adapter: null, skipped: [...] }
 */
export async function useBackend(name: BackendName = 'auto', options: UseBackendOptions = {}): Promise<BackendInfo> {
  return selectBackend(NODE, name, options);
}
