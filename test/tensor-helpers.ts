/** Shared helpers for the tensor tests. */
import { tf } from '../src/index.js';
import { KernelRunner } from '../src/backend/kernels.js';
import type { HostBuffers } from '../src/backend/kernels.js';

/**
 * fn with a kernel runner on the active backend and its heap buffers (wasm: call it there), the
 * runner's buffers freed after, also when fn throws.
 */
export function withRunner<R>(fn: (r: KernelRunner, host: HostBuffers) => R): R {
  const r = KernelRunner.create()!;
  try {
    return fn(r, r.host()!);
  } finally {
    r.free();
  }
}

/** Runs fn `times` times and returns how many tensors each call left behind (all should be 0). */
export function leaks(fn: () => unknown, times = 3): number[] {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const before = tf.memory().numTensors;
    const r = fn();
    if (r instanceof tf.Tensor) r.dispose();
    out.push(tf.memory().numTensors - before);
  }
  return out;
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * ∫ p(x) dx of a 2-D flow by the rectangle rule on an n×n lattice over [−L, L]²
 * (the tests' own quadrature, independent of the library's grid helpers).
 */
export function gridMass(flow: { logProb(x: tf.Tensor2D): tf.Tensor1D }, L: number, n: number): number {
  const step = (2 * L) / (n - 1);
  const grid: number[][] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) grid.push([-L + i * step, -L + j * step]);
  return tf.tidy(() => tf.sum(tf.exp(flow.logProb(tf.tensor2d(grid)))).dataSync()[0]! * step * step);
}
