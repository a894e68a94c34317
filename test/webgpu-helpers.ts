/** Shared by the WebGPU tests (Dawn; lavapipe in CI). */
import { useBackend } from '../src/index.js';

/** Switches to the webgpu backend, or skips the test (with the reason) where no adapter is present. */
export async function onWebGPU(skip: () => void): Promise<boolean> {
  try {
    await useBackend('webgpu');
    return true;
  } catch (e) {
    console.warn(`WebGPU test skipped: ${(e as Error).message}`);
    skip();
    return false;
  }
}

/** Largest absolute difference of a from b, relative to b's largest magnitude. */
export const rel = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!))) / Math.max(...b.map(Math.abs));
