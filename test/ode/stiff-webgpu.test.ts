import { afterAll, describe, expect, it } from 'vitest';
import { BiflowError, odeint, tf, useBackend } from '../../src/index.js';

afterAll(async () => {
  await useBackend('wasm');
});

describe('stiff methods on tensor states under WebGPU in Node', () => {
  it.for(['rodas5', 'kvaerno5', 'auto'] as const)('%s: the host read of its Jacobian is a typed error naming the backend and the way out, not a raw ReferenceError (skips without an adapter)', { timeout: 120_000 }, async (method, ctx) => {
    try {
      await useBackend('webgpu');
    } catch (e) {
      console.warn(`WebGPU test skipped: ${(e as Error).message}`);
      ctx.skip();
      return;
    }
    const y0 = tf.tensor2d([[1, 0.5], [0.2, -0.3]]);
    const before = tf.memory().numTensors;
    // Refused before any work, whether the solve would read an error norm first (auto) or not (fixed steps).
    const options = method === 'auto' ? { rtol: 1e-4, atol: 1e-4 } : { stepSize: 0.1 };
    let err: unknown = null;
    try {
      odeint((_t, y) => tf.mul(y, -100), y0, [0, 1], { method, ...options });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BiflowError);
    const pattern = /the stiff methods on tensor states factorise J on the host, and the 'webgpu' backend in Node can only read tensors asynchronously\. Run stiff tensor solves on the 'wasm' or 'cpu' backend/;
    expect((err as Error).message).toMatch(pattern);
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
  });
});
