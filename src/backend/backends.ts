/**
 * Backend choice in Node: `useBackend(name)` loads and activates a tfjs backend, `backendInfo()`
 * says which one (and which GPU adapter) is in use.
 *
 * 'auto' tries, in order: tfjs-node-gpu → tfjs-node → WebGPU with a hardware adapter → wasm → cpu.
 * The environment variable BIFLOW_BACKEND overrides the name passed as 'auto'. WebGPU comes from
 * Dawn (the optional peer `webgpu`) installed as `navigator.gpu`; 'auto' asks Dawn in a child
 * process first, so a software adapter is passed over without Dawn's native messages here. The
 * browser twin is `./browser.ts`; what both share is `./select.ts`.
 */
import { DAWN_INSTALL, installDawn, probeDawn } from './dawn.js';
import { selectBackend } from './select.js';
import type { BackendInfo, BackendName, ConcreteBackend, Platform, UseBackendOptions } from './select.js';

export { backendInfo, BackendUnavailableError, BACKEND_NAMES } from './select.js';
export type { AdapterInfo, BackendInfo, BackendName, UseBackendOptions } from './select.js';

/** Imports an optional package, naming it (not the importing file) when it is not installed. */
async function importOptional(name: string): Promise<void> {
  try {
    await import(name);
  } catch (e) {
    const { code, message } = e as { code?: string; message?: string };
    // Only the package itself missing, not one of its own imports (that error is passed on as is).
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && new RegExp(`'${name}'`).test(message ?? '');
    if (missing) throw new Error(`'${name}' is not installed`, { cause: e });
    throw e;
  }
}

const NODE: Platform = {
  auto: ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'],
  override: () => process.env.BIFLOW_BACKEND,
  installGpu: installDawn,
  probeGpu: probeDawn,
  async loadNative(name: ConcreteBackend) {
    // Optional peer dependencies: installed only when asked for (their install downloads libtensorflow).
    await importOptional(name === 'tfjs-node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu');
  },
  fixes: {
    'tfjs-node': "Install it with 'npm install @tensorflow/tfjs-node' where its install script can download libtensorflow, or use 'wasm'.",
    'tfjs-node-gpu': "Install it with 'npm install @tensorflow/tfjs-node-gpu' (needs CUDA 11.2 and a download of libtensorflow), or use 'webgpu' or 'wasm'.",
    webgpu: `Dawn (WebGPU for Node) is an optional peer dependency: ${DAWN_INSTALL}. It needs a Vulkan driver on Linux: a GPU driver, or Mesa lavapipe ≥ 25 ('apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1' on Debian 12); point VK_DRIVER_FILES at its ICD file if it is not in the default place. Or use 'wasm'.`,
    webgl: "WebGL exists only in browsers; in Node use 'webgpu' or 'wasm'.",
    wasm: "Reinstall @tensorflow/tfjs-backend-wasm (npm ci), or use 'cpu'.",
    cpu: 'The cpu backend is @tensorflow/tfjs-backend-cpu, a dependency of biflow; reinstall (npm ci).',
  },
};

/**
 * Loads and activates a backend. Named backends that cannot load raise
 * {@link BackendUnavailableError}; 'auto' falls through the list and reports what it skipped.
 *
 * @example
 * ```ts
 * import { backendInfo, useBackend } from 'biflow';
 * await useBackend('auto');          // or 'wasm' | 'cpu' | 'webgpu' | 'tfjs-node' | 'tfjs-node-gpu'
 * backendInfo();                     // { name: 'wasm', tfBackend: 'wasm', adapter: null, skipped: [...] }
 * ```
 */
export async function useBackend(name: BackendName = 'auto', options: UseBackendOptions = {}): Promise<BackendInfo> {
  return selectBackend(NODE, name, options);
}
