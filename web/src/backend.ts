/** The backend of the page: biflow's browser `useBackend`, with the wasm binaries vite serves. */
import { tf, useBackend } from 'biflow';
import type { BackendInfo, BackendName } from 'biflow';
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': plain,
  'tfjs-backend-wasm-simd.wasm': simd,
  'tfjs-backend-wasm-threaded-simd.wasm': threaded,
};

/** Activates `name` ('auto': WebGPU → WebGL → wasm → cpu) and says what runs. */
export async function startBackend(name: BackendName): Promise<BackendInfo> {
  return useBackend(name, { wasmPaths: WASM_PATHS });
}

/** One line for the header: the backend, its adapter, and what 'auto' skipped. */
export function describe(info: BackendInfo): string {
  const adapter = info.adapter ? ` (${info.adapter.description || info.adapter.vendor || 'adapter'}${info.adapter.software ? ', software' : ''})` : '';
  return `${info.name}${adapter}`;
}

/**
 * Calls `onLost` with the reason if the WebGPU device of the backend now active is lost (a
 * driver reset, a tab in the background too long, the browser reclaiming it): every tensor on it
 * is gone then, so the page must move to another backend and rebuild its model.
 */
export function watchDeviceLost(onLost: (reason: string) => void): void {
  if (tf.getBackend() !== 'webgpu') return;
  const device = (tf.backend() as unknown as { device?: { lost?: Promise<{ reason?: string; message?: string }> } }).device;
  void device?.lost?.then((info) => onLost(info.message || info.reason || 'unknown reason'));
}

/** Destroys the active WebGPU device, as a driver reset would: the browser tests' way to lose it. */
export function loseDevice(): void {
  (tf.backend() as unknown as { device?: { destroy(): void } }).device?.destroy();
}
