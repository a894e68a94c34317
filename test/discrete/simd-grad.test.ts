import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { blockTranspose } from '../../src/backend/host-ops.js';
import { simdCotangent } from '../../src/backend/simd-contract.js';
import { simdOuter, simdRows } from '../../src/backend/simd-matmul.js';
import { simdGrad, simdGradAvailable } from '../../src/discrete/simd-grad.js';
import { maxDiff, values, withRunner } from '../tensor-helpers.js';

/** Xᵀ·Y by the SIMD kernel and by tfjs-wasm's product (XNNPACK, on Xᵀ transposed first), as arrays; null where the kernel declines. */
function both(x: tf.Tensor2D, y: tf.Tensor2D): { simd: number[] | null; product: number[] } {
  const r = KernelRunner.create()!;
  try {
    const host = r.host()!;
    const g = simdGrad(host, x, y);
    return { simd: g ? Array.from(host.view(g)) : null, product: Array.from(host.view(r.matMul(blockTranspose(r, x), y))) };
  } finally {
    r.free();
  }
}

describe("simd-grad: Xᵀ·Y over the batch rows by a SIMD128 module on tfjs-wasm's heap", () => {
  it('runs on the wasm backend and declines elsewhere and for widths that are not a multiple of 16', async () => {
    await useBackend('wasm');
    expect(simdGradAvailable()).toBe(true);
    const [x, y] = [tf.ones([8, 3]) as tf.Tensor2D, tf.ones([8, 8]) as tf.Tensor2D];
    expect(both(x, y).simd).toBeNull();
    await useBackend('cpu');
    expect(simdGradAvailable()).toBe(false);
    const r = KernelRunner.create()!;
    expect(simdGrad(r.hostOrCpu()!, x, tf.ones([8, 16]))).toBeNull();
    r.free();
    tf.dispose([x, y]);
  });

  // Rows: one, a prime, a training batch; columns of X: one (an input layer), odd (the 1-row tile), 64.
  for (const [n, p, q] of [[1, 64, 64], [37, 1, 16], [37, 5, 32], [1024, 64, 64], [1024, 2, 64], [300, 65, 48]] as const) {
    it(`equals XNNPACK's product bit for bit and the float64 sums to float32 accuracy: X [${n}, ${p}], Y [${n}, ${q}]`, async () => {
      await useBackend('wasm');
      const x = tf.randomNormal([n, p], 0, 1, 'float32', 3) as tf.Tensor2D;
      const y = tf.randomNormal([n, q], 0, 1, 'float32', 4) as tf.Tensor2D;
      const { simd, product } = both(x, y);
      // Both sum the products in row order in float32, a product then a sum (SIMD128 has no FMA).
      expect(simd).toEqual(product);
      const [xv, yv] = [values(x), values(y)];
      const exact = Array.from({ length: p * q }, (_, k) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += xv[i * p + Math.floor(k / q)]! * yv[i * q + (k % q)]!;
        return s;
      });
      expect(maxDiff(simd!, exact)).toBeLessThan(1e-5 * Math.sqrt(n) * 4);
      tf.dispose([x, y]);
    });
  }

  it('reads the buffers where they are after the heap grows, and leaves no tensor or buffer behind', async () => {
    await useBackend('wasm');
    const x = tf.randomNormal([64, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
    const y = tf.randomNormal([64, 16], 0, 1, 'float32', 6) as tf.Tensor2D;
    const before = both(x, y).simd!;
    const big = tf.zeros([64 * 1024 * 1024]); // 256 MB: tfjs-wasm's heap grows (its views detach)
    const after = both(x, y).simd!;
    big.dispose();
    expect(after).toEqual(before);
    const [tensors, buffers] = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
    for (let i = 0; i < 3; i++) both(x, y);
    expect([tf.memory().numTensors, tf.engine().backend.numDataIds()]).toEqual([tensors, buffers]);
    tf.dispose([x, y]);
  });

  for (const n of [4, 7, 1024 * 64 + 3]) {
    it(`applies σ′ in one pass as the kernels do: relu's mask from h and a product with saved σ′ (${n} elements)`, async () => {
      await useBackend('wasm');
      const [g, h] = [tf.randomNormal([n], 0, 1, 'float32', 7), tf.randomNormal([n], 0, 1, 'float32', 8)];
      const r = KernelRunner.create()!;
      try {
        const host = r.host()!;
        const relu = Array.from(host.view(simdCotangent(host, g, { t: h, relu: true })!));
        const prod = Array.from(host.view(simdCotangent(host, g, { t: h, relu: false })!));
        // The kernels' ḡ·step(h) and ḡ·σ′ (a masked entry is +0 here, ±0 there: equal as numbers).
        expect(relu).toEqual(Array.from(host.view(r.mul(g, r.step(h)))).map((v) => v + 0));
        expect(prod).toEqual(Array.from(host.view(r.mul(g, h))));
      } finally {
        r.free();
        tf.dispose([g, h]);
      }
    });
  }

  for (const [n, k, p] of [[1, 4, 1], [37, 64, 2], [1024, 64, 1], [300, 12, 4]] as const) {
    it(`takes a·wᵀ + b for a few rows w by row dot products to float32 accuracy: a [${n}, ${k}], w [${p}, ${k}]`, async () => {
      await useBackend('wasm');
      const a = tf.randomNormal([n, k], 0, 1, 'float32', 9) as tf.Tensor2D;
      const w = tf.randomNormal([p, k], 0, 1, 'float32', 10) as tf.Tensor2D;
      const b = tf.randomNormal([p], 0, 1, 'float32', 11) as tf.Tensor1D;
      const r = KernelRunner.create()!;
      try {
        const host = r.host()!;
        const got = Array.from(host.view(simdRows(host, a, w, b)!));
        const [av, wv, bv] = [values(a), values(w), values(b)];
        const exact = Array.from({ length: n * p }, (_, e) => {
          const [i, j] = [Math.floor(e / p), e % p];
          let s = bv[j]!;
          for (let q = 0; q < k; q++) s += av[i * k + q]! * wv[j * k + q]!;
          return s;
        });
        expect(maxDiff(got, exact)).toBeLessThan(1e-5 * Math.sqrt(k) * 4);
        expect(Array.from(host.view(simdRows(host, a, w)!))).toEqual(Array.from(host.view(simdRows(host, a, w, tf.zeros([p]))!)));
      } finally {
        r.free();
        tf.dispose([a, w, b]);
      }
    });
  }

  it('declines zero widths, whose counts would wrap in the module\'s loops (they test at the end) and write across the heap', async () => {
    await useBackend('wasm');
    withRunner((_r, host) =>
      tf.tidy(() => {
        expect(simdGrad(host, tf.ones([8, 4]), tf.ones([8, 0]))).toBeNull();
        expect(simdGrad(host, tf.ones([8, 0]), tf.ones([8, 16]))).toBeNull();
        expect(simdOuter(host, tf.ones([8, 2]), tf.ones([2, 0]), { bias: tf.ones([0]), relu: true })).toBeNull();
      }),
    );
  });

  it('declines row products it does not take: more than 4 rows of w, or a width that is not a multiple of 4', async () => {
    await useBackend('wasm');
    withRunner((_r, host) =>
      tf.tidy(() => {
        expect(simdRows(host, tf.ones([8, 64]), tf.ones([5, 64]))).toBeNull();
        expect(simdRows(host, tf.ones([8, 6]), tf.ones([2, 6]))).toBeNull();
      }),
    );
  });

  for (const [n, k, q] of [[1, 1, 16], [37, 2, 64], [1024, 1, 64], [300, 4, 32]] as const) {
    it(`takes relu(x·w + b) and (x·w) ⊙ [h > 0] for a narrow x as XNNPACK's products do, bit for bit: x [${n}, ${k}], w [${k}, ${q}]`, async () => {
      await useBackend('wasm');
      const x = tf.randomNormal([n, k], 0, 1, 'float32', 12) as tf.Tensor2D;
      const w = tf.randomNormal([k, q], 0, 1, 'float32', 13) as tf.Tensor2D;
      const b = tf.randomNormal([q], 0, 1, 'float32', 14) as tf.Tensor1D;
      const h = tf.randomNormal([n, q], 0, 1, 'float32', 15) as tf.Tensor2D;
      const r = KernelRunner.create()!;
      try {
        const host = r.host()!;
        const relu = Array.from(host.view(simdOuter(host, x, w, { bias: b, relu: true })!));
        expect(relu).toEqual(Array.from(host.view(r.matMul(x, w, b, 'relu'))));
        const masked = Array.from(host.view(simdOuter(host, x, w, { mask: h })!));
        expect(masked).toEqual(Array.from(host.view(r.mul(r.matMul(x, w), r.step(h)))).map((v) => v + 0));
      } finally {
        r.free();
        tf.dispose([x, w, b, h]);
      }
    });
  }
});
