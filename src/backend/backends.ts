/**
 * Backend choice: `useBackend(name)` loads and activates a tfjs backend, `backendInfo()` says
 * which one (and which GPU adapter) is in use.
 *
 * 'auto' tries, in order: tfjs-node-gpu → tfjs-node → WebGPU with a hardware adapter → wasm → cpu.
 * The environment variable BIFLOW_BACKEND overrides the name passed as 'auto'.
 */
import { BiflowError, InvalidArgumentError } from '../errors.js';
import { tf } from './engine.js';

export type BackendName = 'auto' | 'wasm' | 'cpu' | 'webgpu' | 'tfjs-node' | 'tfjs-node-gpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'wasm', 'cpu', 'webgpu', 'tfjs-node', 'tfjs-node-gpu'];

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (Mesa lavapipe/llvmpipe, SwiftShader) rather than a GPU. */
  software: boolean;
}

export interface BackendInfo {
  /** The biflow name of the active backend. */
  name: Exclude<BackendName, 'auto'>;
  /** tfjs's own name for it (`wasm`, `cpu`, `webgpu`, `tensorflow`). */
  tfBackend: string;
  /** The WebGPU adapter, when the backend is WebGPU. */
  adapter: AdapterInfo | null;
  /** For 'auto': why each earlier candidate was passed over. */
  skipped: { name: BackendName; reason: string }[];
}

/** A backend was asked for by name and cannot run here; `reason` says why, the message what to do. */
export class BackendUnavailableError extends BiflowError {
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
    fix: string,
  ) {
    super(`useBackend: backend '${backend}' is not available: ${reason}. ${fix}`);
  }
}

let current: BackendInfo | null = null;

/** What `useBackend` last activated, or what tfjs is using if it was never called. */
export function backendInfo(): BackendInfo {
  if (current && current.tfBackend === tf.getBackend()) return current;
  const tfBackend = tf.getBackend();
  const name = (tfBackend === 'tensorflow' ? 'tfjs-node' : tfBackend) as BackendInfo['name'];
  return { name, tfBackend, adapter: null, skipped: [] };
}

const FIXES: Record<Exclude<BackendName, 'auto'>, string> = {
  'tfjs-node': "Install it with 'npm install @tensorflow/tfjs-node' where its install script can download libtensorflow, or use 'wasm'.",
  'tfjs-node-gpu': "Install it with 'npm install @tensorflow/tfjs-node-gpu' (needs CUDA 11.2 and a download of libtensorflow), or use 'webgpu' or 'wasm'.",
  webgpu: "Install a Vulkan driver: a GPU driver, or Mesa lavapipe ≥ 25 ('apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1' on Debian 12); point VK_DRIVER_FILES at its ICD file if it is not in the default place. Or use 'wasm'.",
  wasm: "Reinstall @tensorflow/tfjs-backend-wasm (npm ci), or use 'cpu'.",
  cpu: 'The cpu backend ships with @tensorflow/tfjs; reinstall it (npm ci).',
};

const message = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  await tf.ready();
  if (!ok || tf.getBackend() !== tfName) throw new Error(`tf.setBackend('${tfName}') failed`);
}

/** navigator.gpu: the browser's, or Dawn's through the `webgpu` package in Node. */
async function webgpuAdapter(): Promise<{ adapter: unknown; info: AdapterInfo }> {
  const g = globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } };
  if (!g.navigator?.gpu) {
    if (typeof process === 'undefined' || !process.versions?.node) throw new Error('this browser has no navigator.gpu');
    process.env.XDG_RUNTIME_DIR ??= (await import('node:os')).tmpdir();
    const dawn = (await import('webgpu')) as { create(flags: string[]): unknown; globals: object };
    Object.assign(globalThis, dawn.globals);
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: dawn.create([]), configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
  }
  const adapter = (await g.navigator!.gpu!.requestAdapter()) as { info?: Record<string, string>; isFallbackAdapter?: boolean } | null;
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no adapter');
  const raw = adapter.info ?? {};
  const info: AdapterInfo = {
    vendor: String(raw.vendor ?? ''),
    architecture: String(raw.architecture ?? ''),
    device: String(raw.device ?? ''),
    description: String(raw.description ?? ''),
    software: false,
  };
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  info.software = adapter.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/.test(text);
  return { adapter, info };
}

async function load(name: Exclude<BackendName, 'auto'>, requireHardware: boolean): Promise<BackendInfo> {
  switch (name) {
    case 'cpu':
      await activate('cpu');
      return { name, tfBackend: 'cpu', adapter: null, skipped: [] };
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      await activate('wasm');
      return { name, tfBackend: 'wasm', adapter: null, skipped: [] };
    case 'webgpu': {
      const { info } = await webgpuAdapter();
      if (requireHardware && info.software) throw new Error(`only a software adapter (${info.description || info.device || info.vendor}) is present`);
      await import('@tensorflow/tfjs-backend-webgpu');
      await activate('webgpu');
      return { name, tfBackend: 'webgpu', adapter: info, skipped: [] };
    }
    case 'tfjs-node':
    case 'tfjs-node-gpu':
      // Optional dependencies: their install downloads libtensorflow, which may not have happened.
      await import(name === 'tfjs-node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu');
      await activate('tensorflow');
      return { name, tfBackend: 'tensorflow', adapter: null, skipped: [] };
  }
}

/**
 * Loads and activates a backend. Named backends that cannot load raise
 * {@link BackendUnavailableError}; 'auto' falls through the list and reports what it skipped.
 *
 * @example
 * await useBackend('auto');          // or 'wasm' | 'cpu' | 'webgpu' | 'tfjs-node' | 'tfjs-node-gpu'
 * backendInfo();                     // { name: 'wasm', tfBackend: 'wasm', adapter: null, skipped: [...] }
 */
export async function useBackend(name: BackendName = 'auto'): Promise<BackendInfo> {
  const requested = name === 'auto' && typeof process !== 'undefined' && process.env?.BIFLOW_BACKEND ? process.env.BIFLOW_BACKEND : name;
  if (!BACKEND_NAMES.includes(requested as BackendName)) {
    throw new InvalidArgumentError('useBackend', name === requested ? 'name' : 'BIFLOW_BACKEND', requested, `is not a backend, got {value}. Use one of: ${BACKEND_NAMES.join(', ')}.`);
  }
  if (requested !== 'auto') {
    try {
      current = await load(requested as Exclude<BackendName, 'auto'>, false);
      return current;
    } catch (e) {
      throw new BackendUnavailableError(requested as BackendName, message(e), FIXES[requested as Exclude<BackendName, 'auto'>]);
    }
  }
  const skipped: BackendInfo['skipped'] = [];
  for (const candidate of ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const) {
    try {
      current = { ...(await load(candidate, candidate === 'webgpu')), skipped };
      return current;
    } catch (e) {
      skipped.push({ name: candidate, reason: message(e) });
    }
  }
  throw new BackendUnavailableError('auto', skipped.map((s) => `${s.name}: ${s.reason}`).join('; '), FIXES.cpu);
}
