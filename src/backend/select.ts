/**
 * Backend choice shared by every platform: the names, the report of what is active, the typed
 * error, and the one loop that tries candidates. What differs between Node and browsers (the order
 * of 'auto', Dawn for navigator.gpu, tfjs-node) comes in as a {@link Platform}, so this module
 * imports nothing Node-only and bundles for the web unchanged.
 */
import { BiflowError, InvalidArgumentError } from '../errors.js';
import { tf } from './engine.js';
import { shareWasmBuffers } from './wasm-kernels.js';

/** A backend biflow can run on ('auto' picks one; 'webgl' exists only in browsers, the tfjs-node pair only in Node). */
export type BackendName = 'auto' | 'wasm' | 'cpu' | 'webgpu' | 'tfjs-node' | 'tfjs-node-gpu' | 'webgl';
/** Every {@link BackendName}. */
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'wasm', 'cpu', 'webgpu', 'tfjs-node', 'tfjs-node-gpu', 'webgl'];
/** A concrete backend (not 'auto'). */
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** The WebGPU adapter a backend runs on. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (Mesa lavapipe/llvmpipe, SwiftShader) rather than a GPU. */
  software: boolean;
}

/** What `useBackend` activated. */
export interface BackendInfo {
  /** The biflow name of the active backend. */
  name: ConcreteBackend;
  /** tfjs's own name for it (`wasm`, `cpu`, `webgpu`, `webgl`, `tensorflow`). */
  tfBackend: string;
  /** The WebGPU adapter, or the WebGL renderer, when the backend is one of those. */
  adapter: AdapterInfo | null;
  /** For 'auto': why each earlier candidate was passed over. */
  skipped: { name: BackendName; reason: string }[];
}

/** Options of `useBackend`. */
export interface UseBackendOptions {
  /**
   * Where the wasm backend's `.wasm` binaries are served from, in a browser: a URL prefix ending
   * in '/', or a map from each file name (`tfjs-backend-wasm.wasm`, `-simd.wasm`,
   * `-threaded-simd.wasm`) to its URL. Passed to tfjs's `setWasmPaths` before the backend starts.
   */
  wasmPaths?: string | Record<string, string>;
}

/** What differs between Node and browsers when choosing a backend. */
export interface Platform {
  /** The candidates of 'auto', best first. */
  auto: readonly ConcreteBackend[];
  /** A name that overrides 'auto' (Node: BIFLOW_BACKEND), or undefined. */
  override(): string | undefined;
  /** Makes `navigator.gpu` exist where the platform has none of its own (Node: Dawn). */
  installGpu?(): Promise<void>;
  /**
   * The adapter `installGpu` would give, found without installing it in this process, so that
   * 'auto' can pass over a software adapter without the GPU library's native messages reaching
   * this process's stderr (Node: Dawn asked in a child process). 'auto' uses it where present.
   */
  probeGpu?(): Promise<AdapterInfo>;
  /** Loads a backend package only this platform can load (Node: the tfjs-node pair). */
  loadNative?(name: ConcreteBackend): Promise<void>;
  /** How to make each backend available, for the error message. */
  fixes: Record<ConcreteBackend, string>;
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

/**
 * What `useBackend` last activated, or what tfjs is using if it was never called: the backend's
 * name, tfjs's name for it, the WebGPU adapter (if any) and what 'auto' passed over and why.
 *
 * @example
 * ```ts
 * import { backendInfo, useBackend } from 'biflow';
 * await useBackend('wasm');
 * const { name, adapter } = backendInfo();   // 'wasm', null
 * ```
 */
export function backendInfo(): BackendInfo {
  if (current && current.tfBackend === tf.getBackend()) return current;
  const tfBackend = tf.getBackend();
  const name = (tfBackend === 'tensorflow' ? 'tfjs-node' : tfBackend) as ConcreteBackend;
  return { name, tfBackend, adapter: null, skipped: [] };
}

const message = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  await tf.ready();
  if (!ok || tf.getBackend() !== tfName) throw new Error(`tf.setBackend('${tfName}') failed`);
}

/**
 * tfjs's cpu backend prints a banner ("Hi, looks like you are running TensorFlow.js in Node.js…")
 * through tfjs's `warn` on its first tensor in Node. biflow chooses backends itself and says which
 * one runs, so that first write happens here with tfjs's warnings off (its `PROD` flag, which in
 * tfjs 4.22 gates nothing but `warn`/`log`), and the flag is then put back as it was.
 */
function quietFirstWrite(): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.dispose(tf.scalar(0));
  } finally {
    env.set('PROD', prod);
  }
}

type Gpu = { requestAdapter(): Promise<unknown> };

/** navigator.gpu's adapter: the browser's own, or one the platform installs (Dawn in Node). */
async function webgpuAdapter(platform: Platform): Promise<AdapterInfo> {
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  if (!g.navigator?.gpu) {
    if (!platform.installGpu) throw new Error('this browser has no navigator.gpu');
    await platform.installGpu();
  }
  const adapter = (await g.navigator!.gpu!.requestAdapter()) as RawAdapter | null;
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no adapter');
  return adapterInfo(adapter);
}

/** What a WebGPU adapter says about itself (`GPUAdapter.info`, `isFallbackAdapter`). */
export interface RawAdapter {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
}

/** An adapter's {@link AdapterInfo}: its names, and whether it is a software rasteriser. */
export function adapterInfo(adapter: RawAdapter): AdapterInfo {
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
  return info;
}

type GL = { getExtension(name: string): { UNMASKED_VENDOR_WEBGL: number; UNMASKED_RENDERER_WEBGL: number } | null; getParameter(p: number): unknown };

/** The WebGL renderer a fresh context gets (SwiftShader and llvmpipe count as software). */
function webglRenderer(): AdapterInfo {
  const g = globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown } };
  if (!g.OffscreenCanvas) throw new Error('WebGL needs a browser (no OffscreenCanvas here)');
  const gl = new g.OffscreenCanvas(1, 1).getContext('webgl2') as GL | null;
  if (!gl) throw new Error('the browser gives no WebGL2 context');
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const vendor = ext ? String(gl.getParameter(ext.UNMASKED_VENDOR_WEBGL)) : '';
  const description = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : 'unknown renderer';
  const software = /swiftshader|llvmpipe|lavapipe|software/i.test(`${vendor} ${description}`);
  return { vendor, architecture: '', device: '', description, software };
}

async function load(platform: Platform, name: ConcreteBackend, requireHardware: boolean, options: UseBackendOptions): Promise<BackendInfo> {
  const done = (tfBackend: string, adapter: AdapterInfo | null = null): BackendInfo => ({ name, tfBackend, adapter, skipped: [] });
  switch (name) {
    case 'cpu':
      await activate('cpu');
      quietFirstWrite();
      return done('cpu');
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
      shareWasmBuffers();
      await activate('wasm');
      return done('wasm');
    }
    case 'webgl': {
      const info = webglRenderer();
      if (requireHardware && info.software) throw new Error(`only a software renderer (${info.description}) is present`);
      await import('@tensorflow/tfjs-backend-webgl');
      await activate('webgl');
      return done('webgl', info);
    }
    case 'webgpu': {
      // 'auto' asks the platform's probe first where it has one (and navigator.gpu is not here yet):
      // a software adapter is then passed over without the GPU library ever loading in this process.
      const software = (a: AdapterInfo) => new Error(`only a software adapter (${a.description || a.device || a.vendor}) is present`);
      if (requireHardware && platform.probeGpu && !(globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu) {
        const probed = await platform.probeGpu();
        if (probed.software) throw software(probed);
      }
      const info = await webgpuAdapter(platform);
      if (requireHardware && info.software) throw software(info);
      await import('@tensorflow/tfjs-backend-webgpu');
      await activate('webgpu');
      return done('webgpu', info);
    }
    case 'tfjs-node':
    case 'tfjs-node-gpu':
      if (!platform.loadNative) throw new Error(`${name} runs only in Node`);
      await platform.loadNative(name);
      await activate('tensorflow');
      return done('tensorflow');
  }
}

/**
 * Loads and activates a backend on `platform`: a named one, or for 'auto' the first of
 * `platform.auto` that runs (WebGPU and WebGL only on hardware: a software rasteriser is slower
 * than wasm), reporting what it skipped.
 */
export async function selectBackend(platform: Platform, name: BackendName, options: UseBackendOptions = {}): Promise<BackendInfo> {
  const override = name === 'auto' ? platform.override() : undefined;
  const requested = override || name;
  if (!BACKEND_NAMES.includes(requested as BackendName)) {
    throw new InvalidArgumentError('useBackend', name === requested ? 'name' : 'BIFLOW_BACKEND', requested, `is not a backend, got {value}. Use one of: ${BACKEND_NAMES.join(', ')}.`);
  }
  if (requested !== 'auto') {
    const concrete = requested as ConcreteBackend;
    try {
      current = await load(platform, concrete, false, options);
      return current;
    } catch (e) {
      throw new BackendUnavailableError(concrete, message(e), platform.fixes[concrete]);
    }
  }
  const skipped: BackendInfo['skipped'] = [];
  for (const candidate of platform.auto) {
    try {
      current = { ...(await load(platform, candidate, candidate === 'webgpu' || candidate === 'webgl', options)), skipped };
      return current;
    } catch (e) {
      skipped.push({ name: candidate, reason: message(e) });
    }
  }
  throw new BackendUnavailableError('auto', skipped.map((s) => `${s.name}: ${s.reason}`).join('; '), platform.fixes.cpu);
}
